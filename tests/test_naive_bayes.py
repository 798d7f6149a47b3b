import numpy as np
import pytest

from rnncli.models.naive_bayes import log_count_ratios


def test_two_classes_give_one_column_of_smoothed_log_ratios():
    # Three texts as n-gram id rows (0 = none); labels 1, 1, 0.
    grams = [np.array([[1, 2, 0], [1, 3, 0]]), np.array([[2, 0, 0]])]
    ratios = log_count_ratios(grams, np.array([1, 1, 0]), rows=4, num_classes=2, alpha=1.0)
    assert ratios.shape == (4, 1)
    positive = np.array([0, 2, 1, 1]) + 1.0  # counts of ids 0-3 in class 1, smoothed
    negative = np.array([0, 0, 1, 0]) + 1.0
    expected = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
    expected[0] = 0.0  # padding never adds to a score
    np.testing.assert_allclose(ratios[:, 0], expected, rtol=1e-6)
    # Id 1 occurs only in positive texts, id 2 in both: 1 leans positive more than 2.
    assert ratios[1, 0] > ratios[2, 0]


def test_many_classes_compare_each_class_with_the_rest():
    grams = [np.array([[1, 0], [2, 0], [3, 0]])]
    ratios = log_count_ratios(grams, np.array([0, 1, 2]), rows=4, num_classes=3)
    assert ratios.shape == (4, 3)
    # Each id leans towards the one class it occurs in.
    assert [int(np.argmax(ratios[i])) for i in (1, 2, 3)] == [0, 1, 2]
    assert (ratios[0] == 0).all()


def test_ids_past_the_table_are_an_error_not_silently_dropped():
    with pytest.raises(ValueError):
        log_count_ratios([np.array([[5]])], np.array([1]), rows=4, num_classes=2)
