"""Use case: test metrics of a saved run on its dataset's test split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnncli import metrics
from rnncli.data.corpus import EncodedCorpus
from rnncli.data.sources import load_corpus_with_origin, source_from_config
from rnncli.errors import RunError
from rnncli.predict import Predictor
from rnncli.progress import NullReporter, Reporter
from rnncli.runs import RunInfo

_EPSILON = 1e-7  # Keras' clipping constant for cross-entropy


@dataclass(frozen=True)
class EvaluationReport:
    run: Path
    dataset: str
    #: Where the test split was read from: the archive, folder or file (and the cache if used).
    corpus: str
    count: int
    test_loss: float
    test_accuracy: float
    macro_f1: float
    classes: list[metrics.ClassReport]
    confusions: list[tuple[str, str, int]]
    #: The confusion matrix (rows true classes, columns predicted), for `evaluate`'s heat map;
    #: not in `to_dict()`, so `--json` stays as it was.
    matrix: list[list[int]] | None = None

    def to_dict(self) -> dict:
        return {
            "run": str(self.run),
            "dataset": self.dataset,
            "corpus": self.corpus,
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


def load_test_corpus(
    run: RunInfo, data_dir: Path | None = None, reporter: Reporter | None = None
) -> tuple[EncodedCorpus, str]:
    """The run's corpus as it was split for training, and where it was read from.

    Refused when it is not the data the run was trained on: other split sizes (a file that grew
    or shrank is split differently, so its test split would hold rows the model trained on),
    another vocabulary or other labels.
    """
    reporter = reporter or NullReporter()
    training = run.config.get("training")
    training = training if isinstance(training, dict) else {}
    try:
        seed = int(training.get("seed") or 0)
        limit = training.get("limit")
        limit = None if limit is None else int(limit)
        tokenizer = str(training.get("tokenizer") or "words")
    except (TypeError, ValueError) as exc:
        raise RunError(f"{run.path}: config.json has a bad 'training' section ({exc})") from None
    dataset = run.config["dataset"]
    corpus, origin = load_corpus_with_origin(
        dataset, source_from_config(run.config), seed, data_dir, reporter, tokenizer
    )
    corpus = corpus.limited(limit)
    _check_split_sizes(run, corpus, origin)
    return corpus, origin


def _check_split_sizes(run: RunInfo, corpus: EncodedCorpus, origin: str) -> None:
    """Compare with the sizes training recorded (`counts`; runs made before it are not checked)."""
    counts = run.config.get("counts")
    if counts is None:
        return
    try:
        trained = {"train": int(counts["train"]) + int(counts["val"]), "test": int(counts["test"])}
    except (TypeError, KeyError, ValueError):
        raise RunError(f"{run.path}: config.json has a bad 'counts' section: {counts!r}") from None
    found = {"train": len(corpus.train), "test": len(corpus.test)}
    if found != trained:
        raise RunError(
            f"{run.path}: {origin} now gives {found['train']} training and {found['test']} test texts, "
            f"but the run was trained on {trained['train']} and tested on {trained['test']}; "
            "its data changed, so the test split would differ and could hold texts it trained on",
            "evaluate on the data the run was trained on (--data-dir), or train a new run",
        )


def evaluate(
    run: RunInfo, data_dir: Path | None = None, reporter: Reporter | None = None
) -> EvaluationReport:
    """Test metrics of `run` on its test split, after checking that split is the one it had."""
    reporter = reporter or NullReporter()
    # Keras, not LiteRT: evaluation should reproduce the figures training printed exactly.
    predictor = Predictor(run, prefer_litert=False)
    spec = predictor.spec
    corpus, origin = load_test_corpus(run, data_dir, reporter)
    expected = corpus.vocabulary.truncated(spec.num_words).words
    if predictor.encoder.vocabulary_words != expected:
        raise RunError(
            f"{run.path}: its vocabulary differs from the {run.config['dataset']} corpus in {origin}",
            "the corpus or preprocessing changed since training; retrain",
        )
    if list(corpus.label_names) != run.label_names:
        raise RunError(
            f"{run.path}: its label names differ from the {run.config['dataset']} corpus in {origin}"
        )
    reporter.info(f"Corpus: {origin}")  # after the checks: a refusal stays one line, naming it
    x_test = corpus.test.padded(spec.num_words, spec.maxlen)
    labels = corpus.test_labels.astype(np.int64)
    probabilities = _probabilities(predictor, x_test, reporter)
    predicted = probabilities.argmax(axis=1)
    matrix = metrics.confusion_matrix(labels, predicted, spec.num_classes)
    classes = metrics.per_class(matrix, run.label_names)
    return EvaluationReport(
        run.path,
        run.config["dataset"],
        origin,
        len(labels),
        cross_entropy(probabilities, labels),
        float(np.mean(predicted == labels)) if len(labels) else float("nan"),
        metrics.macro_f1(matrix),
        classes,
        metrics.top_confusions(matrix, run.label_names),
        matrix.tolist(),
    )


def record(report: EvaluationReport) -> None:
    """Add the macro-F1 to the run's `metrics.json`, so `rnncli runs` can list it.

    Only a `metrics.json` that is a JSON object gains the key; anything else is left as it is
    (evaluating never turns a damaged run into a different one).
    """
    from rnncli import runs

    path = Path(report.run) / runs.METRICS
    try:
        current = runs.read_json(path)
    except RunError:
        return
    if current.get("macro_f1") != report.macro_f1:
        runs.write_json(path, {**current, "macro_f1": report.macro_f1})


def _probabilities(predictor: Predictor, x_test: np.ndarray, reporter: Reporter) -> np.ndarray:
    task = reporter.task("Evaluating", len(x_test), "texts")
    chunks = []
    try:
        for start in range(0, len(x_test), 512):
            batch = x_test[start : start + 512]
            chunks.append(predictor.probabilities_of(batch))
            task.advance(len(batch))
    finally:
        task.close()
    return np.concatenate(chunks) if chunks else np.zeros((0, predictor.spec.num_classes))
