"""Classification metrics from predicted and true labels (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClassReport:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted ones."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def per_class(matrix: np.ndarray, names: list[str]) -> list[ClassReport]:
    tp = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    actual = matrix.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return [
        ClassReport(names[i], float(precision[i]), float(recall[i]), float(f1[i]), int(actual[i]))
        for i in range(len(names))
    ]


def macro_f1(matrix: np.ndarray) -> float:
    """Mean F1 over the classes that are true or predicted at least once (scikit-learn's set).

    A class the model predicts but the test set lacks counts with F1 0: leaving it out would
    reward false positives in rare classes, and the figure would disagree with scikit-learn's.
    Classes neither true nor predicted are left out, as they say nothing about the model.
    """
    matrix = np.asarray(matrix)
    seen = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    if not seen.any():
        return 0.0
    tp = np.diag(matrix)[seen].astype(float)
    # F1 = 2TP / (2TP + FP + FN) = 2TP / (predicted + actual), defined wherever the class is seen.
    f1 = 2 * tp / (matrix.sum(axis=0)[seen] + matrix.sum(axis=1)[seen])
    return float(np.mean(f1))


def top_confusions(matrix: np.ndarray, names: list[str], count: int = 10) -> list[tuple[str, str, int]]:
    """The most frequent (true, predicted) mistakes, most frequent first."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:count]
    pairs = []
    for flat in order:
        true, pred = divmod(int(flat), matrix.shape[1])
        if off[true, pred] == 0:
            break
        pairs.append((names[true], names[pred], int(off[true, pred])))
    return pairs
