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
    assert metrics.macro_f1(reports) == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert metrics.top_confusions(matrix, ["a", "b", "c"]) == [("a", "b", 1), ("b", "a", 1)]
