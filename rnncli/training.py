"""Use case: train a model on a corpus and leave a complete run directory behind."""

from __future__ import annotations

import contextlib
import itertools
import os
import platform
import secrets
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

import rnncli
from rnncli import batching, checkpoints, distribute, runs
from rnncli.atomic import atomic_copy, atomic_write_text
from rnncli.data.corpus import EncodedCorpus, stratified_split
from rnncli.data.sources import load_corpus
from rnncli.data.usersource import UserSource
from rnncli.distribute import Distribution, StrategyInfo
from rnncli.errors import RunError, TrainingInterrupted
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
    #: False on a multi-worker task other than the chief: its `run_dir` was scratch, now gone.
    chief: bool = True


class TrainingEvents(Protocol):
    """How training reports to whoever renders it; every method is optional to act on."""

    def on_data(self, info: DataInfo) -> None: ...

    def on_train_begin(self, epochs: int, steps_per_epoch: int, run_dir: Path) -> None: ...

    def on_epoch_begin(self, epoch: int) -> None: ...

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, float], improved: bool) -> None: ...

    def on_evaluate_begin(self) -> None: ...

    # Optional (looked up with getattr): a resumed run starts after `epoch` finished epochs.
    # def on_resume(self, epoch: int, best_epoch: int, best_loss: float | None) -> None: ...

    # Optional (looked up with getattr): the strategy, replicas, devices and batch, once known.
    # def on_strategy(self, info: StrategyInfo) -> None: ...


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

    def on_strategy(self, info: StrategyInfo) -> None:
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
    far stays in the run directory, and every finished epoch is checkpointed for `resume`.

    Under `--strategy multi-worker` every worker runs this with its own `TF_CONFIG`. Only the
    chief writes the run directory (the others work in a scratch folder they remove), and a
    chief started again with the same command and cluster continues its unfinished run from
    the `BackupAndRestore` backup inside it.
    """
    events = events or NullEvents()
    reporter = reporter or NullReporter()
    cluster, job = None, None
    if settings.strategy == distribute.MULTI_WORKER:
        # Checked before any data or TensorFlow: a bad TF_CONFIG is a one-line usage error.
        cluster = distribute.read_cluster(os.environ.get("TF_CONFIG"))
        job = cluster.job_key(_job_settings(settings))
    if settings.seed is not None:
        seed = settings.seed
    elif job is not None:
        # Every worker must split and shuffle the data alike, and a restart must too.
        seed = int(job[:8], 16) % 2**31
    else:
        seed = secrets.randbelow(2**31)
    corpus, arrays = _load_data(settings, seed, events, reporter)
    spec = model_spec(settings, len(corpus.label_names))
    dist = _distribution(settings.strategy, settings, cluster, job, reporter)
    _announce(events, dist.info)
    if cluster is None:
        run_dir, restarted = runs.create(f"{settings.name}-{settings.arch}", settings.out), False
    else:
        run_dir, restarted = _cluster_run_dir(settings, cluster, job)
    try:
        with runs.RunLock(run_dir):
            if restarted:
                _check_same_data(runs.read_json(run_dir / runs.CONFIG), settings, corpus, arrays, run_dir)
                runs.set_status(run_dir, runs.RUNNING)
            else:
                _write_config(settings, spec, corpus, arrays, run_dir, seed, dist.info)
            result = _fit(
                settings, spec, arrays, run_dir, seed, settings.seed is not None, events, reporter, dist=dist
            )
    finally:
        if not dist.info.chief:
            shutil.rmtree(run_dir, ignore_errors=True)
    if job is not None and dist.info.chief:
        pointer = _job_pointer(job)
        with contextlib.suppress(FileNotFoundError):
            pointer.unlink()
        with contextlib.suppress(OSError):  # only when no other job is unfinished
            pointer.parent.rmdir()
    return result


def _write_config(settings, spec, corpus: EncodedCorpus, arrays, run_dir: Path, seed: int, info) -> None:
    config = {
        "rnncli_version": rnncli.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "dataset": settings.name,
        "source": settings.source.to_dict() if settings.source else None,
        "model": spec.to_dict(),
        # `deterministic` records whether the seed was given (op determinism on) or drawn.
        "training": {**settings.to_dict(), "seed": seed, "deterministic": settings.seed is not None},
        "label_names": list(corpus.label_names),
        "preprocessing_version": PREPROCESSING_VERSION,
        "packages": package_versions(),
        "counts": _counts(settings, arrays),
        "distribution": info.to_dict(),
    }
    runs.write_json(run_dir / runs.CONFIG, config)
    corpus.vocabulary.truncated(settings.num_words).save(run_dir / runs.VOCAB)


def _job_settings(settings: TrainSettings) -> dict:
    """The settings that make a multi-worker job, without what may differ between machines."""
    values = settings.to_dict()
    for local in ("out", "data_dir"):
        values.pop(local, None)
    if values.get("source"):
        values["source"] = {k: v for k, v in values["source"].items() if k not in ("path", "test_path")}
    return values


def _job_pointer(job: str) -> Path:
    """Where a chief notes the run of an unfinished job, so that its restart finds it again."""
    return runs.runs_root() / ".jobs" / job


def _cluster_run_dir(settings: TrainSettings, cluster, job: str) -> tuple[Path, bool]:
    """The chief's run directory (an unfinished one of the same job, or a new one), or a
    worker's scratch folder; and whether training restarts in it."""
    if not cluster.chief:
        scratch = Path(tempfile.mkdtemp(prefix=f"rnncli-{cluster.task_type}{cluster.task_index}-"))
        return runs.create(settings.name, scratch), False
    pointer = _job_pointer(job)
    candidates = [Path(settings.out)] if settings.out else []
    if pointer.is_file():
        candidates.append(Path(pointer.read_text(encoding="utf-8").strip()))
    for candidate in candidates:
        if (candidate / runs.CONFIG).is_file() and runs.status(candidate).get("state") != runs.COMPLETE:
            config = runs.read_json(candidate / runs.CONFIG)
            if (config.get("distribution") or {}).get("job") == job:
                return candidate, True
    run_dir = runs.create(f"{settings.name}-{settings.arch}", settings.out)
    pointer.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(pointer, str(run_dir.resolve()) + "\n")
    return run_dir, False


def _distribution(name: str, settings: TrainSettings, cluster, job, reporter: Reporter) -> Distribution:
    """Start the strategy; for a cluster, wait (with a note) until every worker has joined."""
    if cluster is None:
        return distribute.make(name, settings.batch_size, settings.global_batch)
    task = reporter.task(f"Waiting for all {cluster.workers} workers of TF_CONFIG to join", None)
    try:
        return distribute.make(name, settings.batch_size, settings.global_batch, cluster, job)
    finally:
        task.close()


def _announce(events, info: StrategyInfo) -> None:
    on_strategy = getattr(events, "on_strategy", None)
    if on_strategy is not None:
        on_strategy(info)


def resume(
    run_dir: Path,
    data_dir: Path | None = None,
    events: TrainingEvents | None = None,
    reporter: Reporter | None = None,
) -> TrainResult:
    """Continue an interrupted or killed run from its last finished epoch.

    Everything comes from the run itself: the settings and seed from `config.json` (so the data
    split and batch order are the original's), the weights, optimizer state, early-stopping
    state and random-generator positions from the last checkpoint. With a given seed the result
    is the one the uninterrupted run would have reached. Raises `RunError` for a complete run,
    one still training in another process, or one whose data no longer matches. A run trained
    with a strategy resumes under the same strategy and number of replicas (the global batch
    depends on them); a multi-worker run resumes by starting its workers again instead.
    """
    events = events or NullEvents()
    reporter = reporter or NullReporter()
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run directory {run_dir} does not exist")
    with runs.RunLock(run_dir):
        # Read under the lock: a resume that just finished in another process is seen complete.
        if runs.status(run_dir).get("state") == runs.COMPLETE:
            raise RunError(f"run {run_dir} is already complete", "train a new run instead of resuming it")
        config = runs.read_json(run_dir / runs.CONFIG)
        settings, seed, deterministic = settings_from_config(config, run_dir)
        recorded = config.get("distribution") or {}
        strategy = recorded.get("strategy", distribute.DEFAULT)
        if strategy == distribute.MULTI_WORKER:
            raise RunError(
                f"run {run_dir} was trained by a multi-worker cluster",
                "start every worker again with its original command and TF_CONFIG: "
                "they continue from the backup in the run directory",
            )
        if data_dir is not None:
            settings = replace(settings, data_dir=Path(data_dir))
        elif settings.data_dir is not None and not Path(settings.data_dir).exists():
            settings = replace(settings, data_dir=None)
        checkpoint = checkpoints.Checkpoint.read(run_dir)
        corpus, arrays = _load_data(settings, seed, events, reporter)
        _check_same_data(config, settings, corpus, arrays, run_dir)
        spec = model_spec(settings, len(corpus.label_names))
        dist = _distribution(strategy, settings, None, None, reporter)
        if dist.info.replicas != int(recorded.get("replicas", 1)):
            raise RunError(
                f"run {run_dir} was trained on {recorded.get('replicas')} replicas ({strategy}); "
                f"here that strategy gives {dist.info.replicas}",
                "resume it where it has as many devices, or train a new run",
            )
        _announce(events, dist.info)
        runs.set_status(run_dir, runs.RUNNING, resumed_after=checkpoint.epoch if checkpoint else 0)
        return _fit(settings, spec, arrays, run_dir, seed, deterministic, events, reporter, checkpoint, dist)


def settings_from_config(config: dict, run_dir: Path) -> tuple[TrainSettings, int, bool]:
    """The run's `TrainSettings`, its seed, and whether that seed was given (determinism on)."""
    from dataclasses import fields

    training = config.get("training")
    if not isinstance(training, dict) or "seed" not in training:
        raise RunError(f"{run_dir / runs.CONFIG} has no usable 'training' section", "it cannot be resumed")
    if config.get("preprocessing_version") != PREPROCESSING_VERSION:
        raise RunError(
            f"run {run_dir} was made with preprocessing version {config.get('preprocessing_version')}, "
            f"this rnncli uses {PREPROCESSING_VERSION}",
            "train a new run",
        )
    known = {f.name for f in fields(TrainSettings)}
    values = {key: value for key, value in training.items() if key in known}
    source = values.get("source")
    values["source"] = UserSource(**source) if isinstance(source, dict) else None
    values["out"] = Path(values["out"]) if values.get("out") else None
    values["data_dir"] = Path(values["data_dir"]) if values.get("data_dir") else None
    try:
        settings = TrainSettings(**values)
        seed = int(training["seed"])
    except (TypeError, ValueError) as exc:
        raise RunError(f"{run_dir / runs.CONFIG}: bad 'training' section ({exc})") from exc
    return settings, seed, bool(training.get("deterministic", True))


def _load_data(
    settings: TrainSettings, seed: int, events, reporter: Reporter
) -> tuple[EncodedCorpus, Arrays]:
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
    return corpus, arrays


def _counts(settings: TrainSettings, arrays: Arrays) -> dict[str, int]:
    return {
        "train": len(arrays.x_train),
        "val": len(arrays.y_val) if not settings.validate_on_test else 0,
        "test": len(arrays.x_test),
    }


def _check_same_data(config: dict, settings, corpus: EncodedCorpus, arrays: Arrays, run_dir: Path) -> None:
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
    if config.get("counts") not in (None, _counts(settings, arrays)):
        raise RunError(f"the corpus's split sizes differ from run {run_dir}'s config", "train a new run")


def _fit(
    settings,
    spec,
    arrays: Arrays,
    run_dir: Path,
    seed: int,
    deterministic: bool,
    events,
    reporter: Reporter,
    checkpoint: checkpoints.Checkpoint | None = None,
    dist: Distribution | None = None,
) -> TrainResult:
    from rnncli.backend import keras, set_determinism, tensorflow
    from rnncli.models import factories, persist

    k = keras()
    tf = tensorflow()
    dist = dist or distribute.make(distribute.DEFAULT, settings.batch_size, settings.global_batch)
    chief = dist.info.chief
    if deterministic:
        set_determinism(seed)
    else:
        k.utils.set_random_seed(seed)
    with dist.scope():
        model = factories.build(spec)
        if checkpoint is None:  # a checkpoint's weights include whatever fit_to_data would set
            factories.fit_to_data(model, spec, arrays.x_train, arrays.y_train)
    dist.prepare(
        model,
        (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.as_dtype(arrays.y_train.dtype))),
    )
    result = TrainResult(run_dir, chief=chief)
    start_epoch = 0
    best_weights = None
    best_loss = float("inf")
    earlier_seconds = 0.0
    stopper_state: dict | None = None
    if checkpoint is not None:
        if not model.optimizer.built:
            with dist.scope():
                model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(run_dir / checkpoint.model_file)
        except Exception as exc:  # noqa: BLE001 - Keras raises many types for a damaged file
            raise RunError(f"cannot load checkpoint {run_dir / checkpoint.model_file}: {exc}") from exc
        seeds = checkpoints.seed_variables(model)
        if len(seeds) != len(checkpoint.seed_states):
            raise RunError(f"{run_dir / runs.CHECKPOINT} does not fit the model", "train a new run")
        for variable, value in zip(seeds, checkpoint.seed_states):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        start_epoch = checkpoint.epoch
        result.history = list(checkpoint.history)
        result.best_epoch = checkpoint.best_epoch
        result.stopped_epoch = checkpoint.epoch
        earlier_seconds = checkpoint.seconds
        stopper_state = checkpoint.stopper
        if checkpoint.best_loss is not None:
            best_loss = checkpoint.best_loss
        if checkpoint.best_epoch == checkpoint.epoch:
            # The kill may have come between the checkpoint and the best-model copy.
            best_weights = model.get_weights()
            atomic_copy(run_dir / checkpoint.model_file, run_dir / runs.MODEL)
        elif checkpoint.best_epoch:
            best_weights = persist.load(run_dir / runs.MODEL, spec).get_weights()
        runs.write_json(run_dir / runs.HISTORY, {"epochs": result.history, "best_epoch": result.best_epoch})
    restart: checkpoints.Restart | None = None
    if dist.multi_worker:
        own = checkpoints.read_restart(run_dir, settings.patience) if chief else checkpoints.Restart()
        restart = checkpoints.Restart.from_vector(dist.from_chief(own.vector()), own.history)
        if restart.epoch:
            start_epoch = restart.epoch
            result.history = list(restart.history)
            result.best_epoch = restart.best_epoch
            result.stopped_epoch = restart.epoch
            best_loss = restart.best_loss
            stopper_state = restart.stopper
            earlier_seconds = sum(float(entry.get("seconds", 0.0)) for entry in restart.history)
            if chief:
                if restart.best_epoch:
                    best_file = run_dir / checkpoints.best_file(restart.best_epoch)
                    best_weights = persist.load(best_file, spec).get_weights()
                    atomic_copy(best_file, run_dir / runs.MODEL)
                runs.write_json(
                    run_dir / runs.HISTORY, {"epochs": result.history, "best_epoch": result.best_epoch}
                )
    started = time.perf_counter()

    stopper = k.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience)
    # Only the chief writes; under multi-worker the chief's backup replaces per-epoch checkpoints.
    writes = chief
    per_epoch_checkpoints = not dist.multi_worker

    class Recorder(k.callbacks.Callback):
        """Relays progress, keeps the history, checkpoints each epoch and saves each new best.

        Runs after EarlyStopping in the callback list, so the checkpoint holds its updated state;
        and before `BackupAndRestore`, so a backup never holds an epoch the history lacks.
        """

        def __init__(self) -> None:
            super().__init__()
            self.best_loss = best_loss
            self.best_weights = best_weights
            self.epoch_started = 0.0

        def on_train_begin(self, logs=None):
            # EarlyStopping has just reset itself; put back the state the checkpoint recorded.
            if stopper_state is not None:
                stopper.wait = int(stopper_state["wait"])
                stopper.best = stopper_state["best"]
                stopper.best_epoch = int(stopper_state["best_epoch"])
                stopper.stopped_epoch = int(stopper_state["stopped_epoch"])

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.perf_counter()
            events.on_epoch_begin(epoch + 1)

        def on_train_batch_end(self, batch, logs=None):
            events.on_batch_end(batch + 1, {key: float(v) for key, v in (logs or {}).items()})

        def on_epoch_end(self, epoch, logs=None):
            entry = {key: float(v) for key, v in (logs or {}).items()}
            entry["epoch"] = epoch + 1
            entry["seconds"] = round(time.perf_counter() - self.epoch_started, 3)
            best_before = result.best_epoch
            improved = entry.get("val_loss", float("inf")) < self.best_loss
            if improved:
                self.best_loss = entry["val_loss"]
                self.best_weights = self.model.get_weights()
                result.best_epoch = epoch + 1
            result.history.append(entry)
            result.stopped_epoch = epoch + 1
            if writes and per_epoch_checkpoints:
                self.checkpoint(epoch + 1, improved)
            elif writes and improved:
                # Named by epoch: a restart rolled back one epoch still finds its best model.
                persist.save(self.model, run_dir / checkpoints.best_file(epoch + 1))
                atomic_copy(run_dir / checkpoints.best_file(epoch + 1), run_dir / runs.MODEL)
            if writes:
                runs.write_json(
                    run_dir / runs.HISTORY, {"epochs": result.history, "best_epoch": result.best_epoch}
                )
            if writes and not per_epoch_checkpoints:
                checkpoints.remove_best_files(run_dir, keep={result.best_epoch, best_before})
            events.on_epoch_end(epoch + 1, entry, improved)

        def checkpoint(self, epoch: int, improved: bool) -> None:
            name = f"checkpoint-{epoch}.keras"
            persist.save(self.model, run_dir / name)
            checkpoints.Checkpoint(
                epoch=epoch,
                model_file=name,
                history=result.history,
                best_epoch=result.best_epoch,
                best_loss=None if self.best_loss == float("inf") else self.best_loss,
                stopper={
                    "wait": stopper.wait,
                    "best": None if stopper.best is None else float(stopper.best),
                    "best_epoch": stopper.best_epoch,
                    "stopped_epoch": stopper.stopped_epoch,
                },
                stop_training=bool(self.model.stop_training),
                seed_states=[np.asarray(v).tolist() for v in checkpoints.seed_variables(self.model)],
                seconds=round(earlier_seconds + time.perf_counter() - started, 3),
            ).write(run_dir)
            runs.remove_checkpoints(run_dir, keep=name)
            if improved:
                atomic_copy(run_dir / name, run_dir / runs.MODEL)

    class FromChief(k.callbacks.Callback):
        """Multi-worker: after the chief's `BackupAndRestore` has restored its weights and
        optimizer state, every worker takes them, whatever its own disk holds."""

        def on_train_begin(self, logs=None):
            dist.sync_from_chief([*self.model.weights, *self.model.optimizer.variables])

    recorder = Recorder()
    callbacks = [stopper, recorder, _interrupt_check(k)]
    if dist.multi_worker:
        if chief:
            backup = str(run_dir / checkpoints.BACKUP)
            callbacks.append(k.callbacks.BackupAndRestore(backup, delete_checkpoint=False))
        callbacks.append(FromChief())
    batch = dist.info.global_batch
    eval_batch = max(batch, 256)
    steps = batching.steps(len(arrays.x_train), batch)
    events.on_train_begin(settings.epochs, steps, run_dir)
    resumed_after = checkpoint.epoch if checkpoint is not None else restart.epoch if restart else 0
    if resumed_after:
        on_resume = getattr(events, "on_resume", None)
        if on_resume is not None:
            on_resume(resumed_after, result.best_epoch, None if best_loss == float("inf") else best_loss)
    if not dist.default:
        # Under a strategy, batches are global and split over the replicas; padded or cut to
        # their longest text as the mask asks, sharded by data (`Distribution.dataset`).
        train_data = length_batched(
            arrays.x_train, arrays.y_train, batch, seed, first_epoch=start_epoch, cut=spec.mask
        )
        val_data = length_batched(arrays.x_val, arrays.y_val, eval_batch, None, cut=spec.mask)
        fit_args = {
            "x": dist.dataset(train_data),
            "validation_data": dist.dataset(val_data),
            "shuffle": False,
        }
    elif spec.mask:
        # Masked models ignore padding, so batches are cut to their longest text.
        train_data = length_batched(
            arrays.x_train, arrays.y_train, settings.batch_size, seed, first_epoch=start_epoch
        )
        val_data = length_batched(arrays.x_val, arrays.y_val, eval_batch, None)
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
    finished = (
        checkpoint is not None and (checkpoint.stop_training or checkpoint.epoch >= settings.epochs)
    ) or (
        restart is not None
        and restart.epoch > 0
        and (restart.stop_training or restart.epoch >= settings.epochs)
    )
    try:
        if not finished:
            with dist.running(), _lost_workers(dist, run_dir, result), _sigint_noted():
                model.fit(
                    **fit_args,
                    epochs=settings.epochs,
                    initial_epoch=start_epoch,
                    callbacks=callbacks,
                    verbose=0,
                )
    except KeyboardInterrupt:
        result.seconds = earlier_seconds + time.perf_counter() - started
        if writes:
            runs.set_status(run_dir, runs.INTERRUPTED, best_epoch=result.best_epoch)
        again = (
            "; start every worker again with the same command to continue it"
            if dist.multi_worker
            else f"; 'rnncli train --resume {run_dir}' continues it"
        )
        if result.best_epoch:
            raise TrainingInterrupted(
                f"interrupted: best model so far (epoch {result.best_epoch}, "
                f"val_loss {recorder.best_loss:.4f}) kept in {run_dir}{again}"
            ) from None
        raise TrainingInterrupted(
            f"interrupted before the first epoch ended; nothing kept in {run_dir}{again}"
        ) from None
    result.seconds = earlier_seconds + time.perf_counter() - started
    if recorder.best_weights is not None:
        model.set_weights(recorder.best_weights)
    # Every worker evaluates the chief's best model (a restarted worker may not have kept it).
    dist.sync_from_chief(model.weights)
    events.on_evaluate_begin()
    with _lost_workers(dist, run_dir, result):
        if not dist.default:
            test_data = length_batched(arrays.x_test, arrays.y_test, eval_batch, None, cut=spec.mask)
            with dist.running():
                loss, accuracy = model.evaluate(dist.dataset(test_data), verbose=0)
        elif spec.mask:
            test_data = length_batched(arrays.x_test, arrays.y_test, eval_batch, None)
            loss, accuracy = model.evaluate(test_data, verbose=0)
        else:
            loss, accuracy = model.evaluate(arrays.x_test, arrays.y_test, batch_size=eval_batch, verbose=0)
    result.test_loss, result.test_accuracy = float(loss), float(accuracy)
    if not writes:
        return result
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
    if not dist.default and (run_dir / runs.MODEL).is_file():
        # Exported from the saved best model, outside any strategy's scope.
        _export(
            persist.load(run_dir / runs.MODEL, spec), spec, run_dir, _export_sample(arrays.x_test), reporter
        )
    else:
        _export(model, spec, run_dir, _export_sample(arrays.x_test), reporter)
    runs.set_status(run_dir, runs.COMPLETE, best_epoch=result.best_epoch)
    runs.mark_latest(run_dir)
    # Only now: a kill before `complete` must still find the checkpoint to resume from.
    runs.remove_checkpoints(run_dir)
    if dist.multi_worker:
        shutil.rmtree(run_dir / checkpoints.BACKUP, ignore_errors=True)
        checkpoints.remove_best_files(run_dir, keep=set())
    return result


_SIGINT_SEEN = threading.Event()


@contextlib.contextmanager
def _sigint_noted():
    """Note every Ctrl-C, besides Python's usual KeyboardInterrupt.

    Python raises KeyboardInterrupt at whatever bytecode the main thread runs next; when that is
    a finaliser (TensorFlow runs many `__del__` methods), the exception is printed as "ignored"
    and lost, and training would go on. The flag lets `_interrupt_check` raise it again from a
    plain callback at the next batch.
    """
    _SIGINT_SEEN.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def note(signum, frame):
        _SIGINT_SEEN.set()
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_check(k):
    class InterruptCheck(k.callbacks.Callback):
        """Raises a Ctrl-C that a finaliser swallowed, at the next batch or epoch end."""

        def _check(self, *args, **kwargs) -> None:
            if _SIGINT_SEEN.is_set():
                raise KeyboardInterrupt

        on_train_batch_end = on_test_batch_end = on_epoch_end = _check

    return InterruptCheck()


@contextlib.contextmanager
def _lost_workers(dist: Distribution, run_dir: Path, result: TrainResult):
    """Turn TensorFlow's report of a vanished worker into one line that says how to continue.

    A multi-worker job cannot go on short of a worker: collectives abort on every survivor
    once the lost one misses its heartbeats. Every worker is started again; they continue
    from the chief's backup.
    """
    try:
        yield
    except Exception as exc:
        if not (dist.multi_worker and distribute.lost_worker(exc)):
            raise
        if dist.info.chief:
            runs.set_status(run_dir, runs.INTERRUPTED, best_epoch=result.best_epoch)
        raise RunError(
            f"{dist.info.task}: lost contact with the cluster after epoch {result.stopped_epoch} "
            f"({distribute.short_reason(exc)})",
            "start every worker again with the same command and TF_CONFIG; "
            "they continue after the last epoch in the chief's backup",
        ) from None


def length_batched(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    seed: int | None,
    first_epoch: int = 0,
    cut: bool = True,
):
    """A `tf.data` pipeline of length-bucketed batches; reshuffled each epoch when seeded.

    Epoch `e` is shuffled with `seed + e`, so a run resumed at `first_epoch` sees the batches
    the uninterrupted run would have. `cut=False` keeps every batch padded to maxlen and
    shuffles plain rows: the book's arithmetic, as a pipeline that a strategy can shard.
    """
    from rnncli.backend import tensorflow

    tf = tensorflow()
    epochs = itertools.count(first_epoch)

    def generate():
        epoch_seed = None if seed is None else (seed + next(epochs)) % 2**32
        if cut:
            yield from batching.iter_batches(x, y, batch_size, epoch_seed)
        else:
            yield from _padded_batches(x, y, batch_size, epoch_seed)

    signature = (
        tf.TensorSpec((None, None), tf.int32),
        tf.TensorSpec((None,), tf.as_dtype(y.dtype)),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batching.steps(len(x), batch_size)))
    return dataset.prefetch(2)


def _padded_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None):
    order = np.arange(len(x)) if seed is None else np.random.RandomState(seed).permutation(len(x))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        yield x[rows], y[rows]


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
