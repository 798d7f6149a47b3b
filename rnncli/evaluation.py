"""Use case: test metrics of a saved run on its dataset's test split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnncli import metrics
from rnncli.data.sources import load_corpus, source_from_config
from rnncli.errors import RunError
from rnncli.predict import Predictor
from rnncli.progress import NullReporter, Reporter
from rnncli.runs import RunInfo

_EPSILON = 1e-7  # Keras' clipping constant for cross-entropy


@dataclass(frozen=True)
class EvaluationReport:
    run: Path
    dataset: str
    count: int
    test_loss: float
    test_accuracy: float
    macro_f1: float
    classes: list[metrics.ClassReport]
    confusions: list[tuple[str, str, int]]

    def to_dict(self) -> dict:
        return {
            "run": str(self.run),
            "dataset": self.dataset,
            "count": self.count,
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "macro_f1": self.macro_f1,
            "classes": [vars(c) for c in self.classes],
            "confusions": [{"true": t, "predicted": p, "count": n} for t, p, n in self.confusions],
        }


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of the true class, clipped as Keras clips it."""
    chosen = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(chosen, _EPSILON, 1.0 - _EPSILON))))


def evaluate(
    run: RunInfo, data_dir: Path | None = None, reporter: Reporter | None = None
) -> EvaluationReport:
    reporter = reporter or NullReporter()
    # Keras, not LiteRT: evaluation should reproduce the figures training printed exactly.
    predictor = Predictor(run, prefer_litert=False)
    spec = predictor.spec
    training = run.config.get("training", {})
    corpus = load_corpus(
        run.config["dataset"],
        source_from_config(run.config),
        int(training.get("seed") or 0),
        data_dir,
        reporter,
    ).limited(training.get("limit"))
    expected = corpus.vocabulary.truncated(spec.num_words).words
    if predictor.encoder.vocabulary_words != expected:
        raise RunError(
            f"{run.path}: its vocabulary differs from the {run.config['dataset']} corpus here",
            "the corpus or preprocessing changed since training; retrain",
        )
    if list(corpus.label_names) != run.label_names:
        raise RunError(f"{run.path}: its label names differ from the {run.config['dataset']} corpus here")
    x_test = corpus.test.padded(spec.num_words, spec.maxlen)
    labels = corpus.test_labels.astype(np.int64)
    task = reporter.task("Evaluating", len(x_test), "texts")
    chunks = []
    try:
        for start in range(0, len(x_test), 512):
            batch = x_test[start : start + 512]
            chunks.append(predictor.probabilities_of(batch))
            task.advance(len(batch))
    finally:
        task.close()
    probabilities = np.concatenate(chunks) if chunks else np.zeros((0, spec.num_classes))
    predicted = probabilities.argmax(axis=1)
    matrix = metrics.confusion_matrix(labels, predicted, spec.num_classes)
    classes = metrics.per_class(matrix, run.label_names)
    return EvaluationReport(
        run.path,
        run.config["dataset"],
        len(labels),
        cross_entropy(probabilities, labels),
        float(np.mean(predicted == labels)) if len(labels) else float("nan"),
        metrics.macro_f1(classes),
        classes,
        metrics.top_confusions(matrix, run.label_names),
    )
