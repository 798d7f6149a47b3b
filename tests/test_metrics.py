import numpy as np
import pytest

from rnncli import metrics


def test_per_class_macro_f1_and_confusions():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 0, 2])
    matrix = metrics.confusion_matrix(y_true, y_pred, 3)
    assert matrix.tolist() == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    reports = metrics.per_class(matrix, ["a", "b", "c"])
    assert reports[0].precision == pytest.approx(2 / 3) and reports[0].recall == pytest.approx(2 / 3)
    assert reports[2].f1 == 1.0 and reports[1].support == 2
    assert metrics.macro_f1(matrix) == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert metrics.top_confusions(matrix, ["a", "b", "c"]) == [("a", "b", 1), ("b", "a", 1)]


# Figures as scikit-learn's f1_score(y_true, y_pred, average="macro") gives them, worked by hand:
# the mean over the labels that appear in y_true or y_pred, a class never predicted (or never
# true) having F1 0, and a label in neither left out.
@pytest.mark.parametrize(
    "y_true, y_pred, classes, expected",
    [
        # class 0: P 1, R 1/2, F1 2/3; class 1: F1 1; class 2 predicted once, never true: F1 0.
        ([0, 0, 1, 1], [0, 2, 1, 1], 3, (2 / 3 + 1 + 0) / 3),  # 0.5556, not 0.8333
        # Same, with a fourth class in neither list: it does not dilute the mean.
        ([0, 0, 1, 1], [0, 2, 1, 1], 4, (2 / 3 + 1 + 0) / 3),
        # class 0: P 1/2, R 1/2; class 1: P 0 (never right), R 0; class 2 true once, never
        # predicted: F1 0; class 3 predicted, never true: F1 0.
        ([0, 0, 1, 2], [0, 1, 3, 0], 4, (1 / 2 + 0 + 0 + 0) / 4),
        # All right: 1.0; nothing seen at all: 0.0.
        ([1, 1, 0], [1, 1, 0], 5, 1.0),
        ([], [], 3, 0.0),
    ],
)
def test_macro_f1_averages_over_labels_true_or_predicted_as_scikit_learn_does(
    y_true, y_pred, classes, expected
):
    matrix = metrics.confusion_matrix(np.array(y_true, dtype=int), np.array(y_pred, dtype=int), classes)
    assert metrics.macro_f1(matrix) == pytest.approx(expected)
    # The per-class reports agree with the same figures, class by class.
    reports = metrics.per_class(matrix, [str(i) for i in range(classes)])
    seen = set(y_true) | set(y_pred)
    if seen:
        assert np.mean([reports[i].f1 for i in sorted(seen)]) == pytest.approx(expected)
