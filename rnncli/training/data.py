"""From settings to the arrays Keras trains on, and the check that a resumed run's data is its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnncli import runs
from rnncli.data.corpus import EncodedCorpus, stratified_split
from rnncli.data.sources import load_corpus
from rnncli.errors import DataError, RunError
from rnncli.progress import Reporter
from rnncli.settings import TrainSettings
from rnncli.text import reencode
from rnncli.training.events import DataInfo


@dataclass
class Arrays:
    """Padded arrays ready for Keras."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def counts(self, validate_on_test: bool) -> dict[str, int]:
        """Split sizes as recorded in `config.json`; a resume or evaluate compares against them."""
        return {
            "train": len(self.x_train),
            "val": 0 if validate_on_test else len(self.y_val),
            "test": len(self.x_test),
        }


def prepare_arrays(corpus: EncodedCorpus, settings: TrainSettings, seed: int) -> Arrays:
    """Pad, and hold validation out of the training split (stratified, seeded).

    An empty split is refused here, before any model exists: a run with nothing to validate on
    never has a best epoch, and one with nothing to test on has no figure to report.
    """
    x_train = corpus.train.padded(settings.num_words, settings.maxlen)
    x_test = corpus.test.padded(settings.num_words, settings.maxlen)
    binary = len(corpus.label_names) == 2
    dtype = np.float32 if binary else np.int32
    y_train = corpus.train_labels.astype(dtype)
    y_test = corpus.test_labels.astype(dtype)
    if settings.validate_on_test:
        arrays = Arrays(x_train, y_train, x_test, y_test, x_test, y_test)
    elif not settings.validates:
        arrays = Arrays(x_train, y_train, x_train[:0], y_train[:0], x_test, y_test)
    else:
        keep, held = stratified_split(corpus.train_labels, settings.val_fraction, seed)
        arrays = Arrays(x_train[keep], y_train[keep], x_train[held], y_train[held], x_test, y_test)
    _refuse_empty(arrays, settings, len(x_train))
    return arrays


def _refuse_empty(arrays: Arrays, settings: TrainSettings, available: int) -> None:
    if not len(arrays.x_test):
        raise DataError(f"{settings.name}: the test split is empty", "use more data or a larger test share")
    if settings.validates and not len(arrays.x_val):
        raise DataError(
            f"{settings.name}: --val {settings.val} of {available} training texts leaves no validation texts",
            "use a larger --val, more data (--limit), or --val test",
        )
    if not len(arrays.x_train):
        raise DataError(
            f"{settings.name}: --val {settings.val} of {available} training texts leaves none to train on",
            "use a smaller --val or more data",
        )


def load_data(
    settings: TrainSettings, seed: int, seed_given: bool, events, reporter: Reporter
) -> tuple[EncodedCorpus, Arrays]:
    """Read (or fetch) the corpus, cut it to `--limit`, split and pad it; tell the display."""
    from rnncli.tokenizers import require

    require(settings.tokenizer)  # a missing SentencePiece or Kiwi is named before any data is read
    corpus = load_corpus(
        settings.dataset, settings.source, seed, settings.data_dir, reporter, tokenizer=settings.tokenizer
    )
    corpus = corpus.limited(settings.limit)
    arrays = prepare_arrays(corpus, settings, seed)
    example = reencode(corpus.train[0], settings.num_words).tolist()
    events.on_data(
        DataInfo(
            settings.name,
            corpus.label_names,
            len(arrays.x_train),
            0 if settings.validate_on_test else len(arrays.x_val),
            len(arrays.x_test),
            settings.validate_on_test,
            example,
            seed,
            seed_given,
            settings.validates,
        )
    )
    return corpus, arrays


def check_same_data(
    config: dict, settings: TrainSettings, corpus: EncodedCorpus, arrays: Arrays, run_dir: Path
) -> None:
    """Refuse to resume on data that differs from the run's: the result would be neither run."""
    from rnncli.text import Vocabulary

    saved = Vocabulary.load(run_dir / runs.VOCAB)
    if saved.words != corpus.vocabulary.truncated(settings.num_words).words:
        raise RunError(
            f"the corpus no longer gives run {run_dir}'s vocabulary; its data changed since it started",
            "train a new run",
        )
    if list(corpus.label_names) != list(config.get("label_names", [])):
        raise RunError(f"the corpus's labels differ from run {run_dir}'s config", "train a new run")
    if config.get("counts") not in (None, arrays.counts(settings.validate_on_test)):
        raise RunError(f"the corpus's split sizes differ from run {run_dir}'s config", "train a new run")
