"""Use case: train a model on a corpus and leave a complete run directory behind."""

from __future__ import annotations

import itertools
import platform
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

import rnncli
from rnncli import batching, runs
from rnncli.data.corpus import EncodedCorpus, stratified_split
from rnncli.data.sources import load_corpus
from rnncli.errors import TrainingInterrupted
from rnncli.progress import NullReporter, Reporter
from rnncli.settings import TrainSettings, model_spec
from rnncli.text import PREPROCESSING_VERSION, reencode


@dataclass(frozen=True)
class DataInfo:
    """What the book prints before training, plus where validation comes from."""

    dataset: str
    label_names: tuple[str, ...]
    train_count: int
    val_count: int
    test_count: int
    validate_on_test: bool
    example: list[int]


@dataclass
class TrainResult:
    run_dir: Path
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped_epoch: int = 0
    test_loss: float = float("nan")
    test_accuracy: float = float("nan")
    seconds: float = 0.0


class TrainingEvents(Protocol):
    """How training reports to whoever renders it; every method is optional to act on."""

    def on_data(self, info: DataInfo) -> None: ...

    def on_train_begin(self, epochs: int, steps_per_epoch: int, run_dir: Path) -> None: ...

    def on_epoch_begin(self, epoch: int) -> None: ...

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, float], improved: bool) -> None: ...

    def on_evaluate_begin(self) -> None: ...


class NullEvents:
    def on_data(self, info: DataInfo) -> None:
        pass

    def on_train_begin(self, epochs: int, steps_per_epoch: int, run_dir: Path) -> None:
        pass

    def on_epoch_begin(self, epoch: int) -> None:
        pass

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float], improved: bool) -> None:
        pass

    def on_evaluate_begin(self) -> None:
        pass


@dataclass
class Arrays:
    """Padded arrays ready for Keras."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare_arrays(corpus: EncodedCorpus, settings: TrainSettings, seed: int) -> Arrays:
    x_train = corpus.train.padded(settings.num_words, settings.maxlen)
    x_test = corpus.test.padded(settings.num_words, settings.maxlen)
    binary = len(corpus.label_names) == 2
    dtype = np.float32 if binary else np.int32
    y_train = corpus.train_labels.astype(dtype)
    y_test = corpus.test_labels.astype(dtype)
    if settings.validate_on_test:
        return Arrays(x_train, y_train, x_test, y_test, x_test, y_test)
    keep, held = stratified_split(corpus.train_labels, settings.val_fraction, seed)
    return Arrays(x_train[keep], y_train[keep], x_train[held], y_train[held], x_test, y_test)


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version(), "rnncli": rnncli.__version__}
    for name in ("tensorflow", "keras", "numpy"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "unknown"
    return found


def train(
    settings: TrainSettings,
    events: TrainingEvents | None = None,
    reporter: Reporter | None = None,
) -> TrainResult:
    """Train, keep the best epoch by `val_loss`, test it, and record everything in a run dir.

    Raises `TrainingInterrupted` on Ctrl-C after marking the run interrupted; the best model so
    far stays in the run directory.
    """
    events = events or NullEvents()
    reporter = reporter or NullReporter()
    seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31)
    corpus = load_corpus(settings.dataset, settings.source, seed, settings.data_dir, reporter)
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
        )
    )
    spec = model_spec(settings, len(corpus.label_names))
    run_dir = runs.create(f"{settings.name}-{settings.arch}", settings.out)
    config = {
        "rnncli_version": rnncli.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "dataset": settings.name,
        "source": settings.source.to_dict() if settings.source else None,
        "model": spec.to_dict(),
        "training": {**settings.to_dict(), "seed": seed},
        "label_names": list(corpus.label_names),
        "preprocessing_version": PREPROCESSING_VERSION,
        "packages": package_versions(),
        "counts": {
            "train": len(arrays.x_train),
            "val": len(arrays.y_val) if not settings.validate_on_test else 0,
            "test": len(arrays.x_test),
        },
    }
    runs.set_status(run_dir, runs.RUNNING)
    runs.write_json(run_dir / runs.CONFIG, config)
    corpus.vocabulary.truncated(settings.num_words).save(run_dir / runs.VOCAB)
    return _fit(settings, spec, arrays, run_dir, seed, events, reporter)


def _fit(settings, spec, arrays: Arrays, run_dir: Path, seed: int, events, reporter: Reporter) -> TrainResult:
    from rnncli.backend import keras, set_determinism
    from rnncli.models import factories, persist

    k = keras()
    if settings.seed is not None:
        set_determinism(seed)
    else:
        k.utils.set_random_seed(seed)
    model = factories.build(spec)
    result = TrainResult(run_dir)
    started = time.perf_counter()

    class Recorder(k.callbacks.Callback):
        """Relays progress, keeps the history, and saves each new best epoch atomically."""

        best_loss = float("inf")
        best_weights = None
        epoch_started = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.perf_counter()
            events.on_epoch_begin(epoch + 1)

        def on_train_batch_end(self, batch, logs=None):
            events.on_batch_end(batch + 1, {key: float(v) for key, v in (logs or {}).items()})

        def on_epoch_end(self, epoch, logs=None):
            entry = {key: float(v) for key, v in (logs or {}).items()}
            entry["epoch"] = epoch + 1
            entry["seconds"] = round(time.perf_counter() - self.epoch_started, 3)
            improved = entry.get("val_loss", float("inf")) < self.best_loss
            if improved:
                self.best_loss = entry["val_loss"]
                self.best_weights = self.model.get_weights()
                result.best_epoch = epoch + 1
                persist.save(self.model, run_dir / runs.MODEL)
            result.history.append(entry)
            result.stopped_epoch = epoch + 1
            runs.write_json(
                run_dir / runs.HISTORY, {"epochs": result.history, "best_epoch": result.best_epoch}
            )
            events.on_epoch_end(epoch + 1, entry, improved)

    recorder = Recorder()
    stopper = k.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience)
    steps = batching.steps(len(arrays.x_train), settings.batch_size)
    events.on_train_begin(settings.epochs, steps, run_dir)
    if spec.mask:
        # Masked models ignore padding, so batches are cut to their longest text.
        train_data = length_batched(arrays.x_train, arrays.y_train, settings.batch_size, seed)
        val_data = length_batched(arrays.x_val, arrays.y_val, max(settings.batch_size, 256), None)
        # The pipeline shuffles itself, seeded per epoch.
        fit_args = {"x": train_data, "validation_data": val_data, "shuffle": False}
    else:
        # The book's arithmetic: every text padded to maxlen, plain arrays.
        fit_args = {
            "x": arrays.x_train,
            "y": arrays.y_train,
            "batch_size": settings.batch_size,
            "validation_data": (arrays.x_val, arrays.y_val),
        }
    try:
        model.fit(**fit_args, epochs=settings.epochs, callbacks=[recorder, stopper], verbose=0)
    except KeyboardInterrupt:
        result.seconds = time.perf_counter() - started
        runs.set_status(run_dir, runs.INTERRUPTED, best_epoch=result.best_epoch)
        if result.best_epoch:
            raise TrainingInterrupted(
                f"interrupted: best model so far (epoch {result.best_epoch}, "
                f"val_loss {recorder.best_loss:.4f}) kept in {run_dir}"
            ) from None
        raise TrainingInterrupted(
            f"interrupted before the first epoch ended; nothing kept in {run_dir}"
        ) from None
    result.seconds = time.perf_counter() - started
    if recorder.best_weights is not None:
        model.set_weights(recorder.best_weights)
    events.on_evaluate_begin()
    if spec.mask:
        test_data = length_batched(arrays.x_test, arrays.y_test, max(settings.batch_size, 256), None)
        loss, accuracy = model.evaluate(test_data, verbose=0)
    else:
        loss, accuracy = model.evaluate(
            arrays.x_test, arrays.y_test, batch_size=max(settings.batch_size, 256), verbose=0
        )
    result.test_loss, result.test_accuracy = float(loss), float(accuracy)
    runs.write_json(
        run_dir / runs.METRICS,
        {
            "test_loss": result.test_loss,
            "test_accuracy": result.test_accuracy,
            "best_epoch": result.best_epoch,
            "epochs_run": result.stopped_epoch,
            "train_seconds": round(result.seconds, 2),
            "validated_on": "test" if settings.validate_on_test else "held-out training split",
        },
    )
    _export(model, spec, run_dir, _export_sample(arrays.x_test), reporter)
    runs.set_status(run_dir, runs.COMPLETE, best_epoch=result.best_epoch)
    runs.mark_latest(run_dir)
    return result


def length_batched(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None):
    """A `tf.data` pipeline of length-bucketed batches; reshuffled each epoch when seeded."""
    from rnncli.backend import tensorflow

    tf = tensorflow()
    epochs = itertools.count()

    def generate():
        epoch_seed = None if seed is None else (seed + next(epochs)) % 2**32
        yield from batching.iter_batches(x, y, batch_size, epoch_seed)

    signature = (
        tf.TensorSpec((None, None), tf.int32),
        tf.TensorSpec((None,), tf.as_dtype(y.dtype)),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batching.steps(len(x), batch_size)))
    return dataset.prefetch(2)


def _export_sample(x: np.ndarray, per_band: int = 16) -> np.ndarray:
    """Test rows of every length band, so each narrow export is checked on texts it will serve."""
    order = np.argsort(batching.lengths_of(x), kind="stable")
    bands = np.array_split(order, 8)
    return x[
        np.concatenate([band[:: max(1, len(band) // per_band)][:per_band] for band in bands if len(band)])
    ]


def _export(model, spec, run_dir: Path, sample: np.ndarray, reporter: Reporter) -> None:
    """Best effort: a run without the LiteRT file still predicts, through Keras."""
    from rnncli.inference import litert_available
    from rnncli.models.export import export_all

    if not litert_available():
        reporter.warn("ai-edge-litert is not installed; predict will use Keras (slower start)")
        return
    task = reporter.task("Exporting for fast inference (LiteRT)", None)
    try:
        export_all(model, spec, run_dir, sample)
    except Exception as exc:  # noqa: BLE001 - the Keras model is saved; export is an extra
        reporter.warn(f"LiteRT export failed ({exc}); predict will use Keras")
    finally:
        task.close()
