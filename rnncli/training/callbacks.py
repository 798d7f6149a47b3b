"""The Keras callbacks of a training run, in the order `fit` must call them.

`callback_list` builds the list: EarlyStopping, then `Recorder`, then Keras' `TensorBoard`,
then `InterruptCheck`, then (multi-worker only) Keras' `BackupAndRestore` on the chief and
`FromChief` on every worker. Each class says why it sits where it does. Importing this module
imports Keras: only the fit step imports it, never the CLI's fast paths.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from rnncli import checkpoints, runs
from rnncli.atomic import atomic_copy
from rnncli.backend import keras
from rnncli.distribute import Distribution
from rnncli.training.events import TrainResult
from rnncli.training.signals import interrupt_pending
from rnncli.training.state import StartState

_k = keras()


class Recorder(_k.callbacks.Callback):
    """Relays progress, keeps the history, checkpoints each epoch and saves each new best.

    Runs after EarlyStopping in the callback list, so the checkpoint holds its updated state;
    and before `BackupAndRestore`, so a backup never holds an epoch the history lacks. An epoch
    counts as best only with a finite `val_loss` (training loss with `--val none`: the
    stopper's monitor) below every earlier one: a run whose loss diverged keeps its last good
    model, and one that never had a finite loss has no best.
    """

    def __init__(
        self,
        events,
        result: TrainResult,
        start: StartState,
        best_weights: list | None,
        stopper,
        run_dir: Path,
        dist: Distribution,
    ) -> None:
        super().__init__()
        self.events = events
        self.result = result
        self.start = start
        self.best_loss = start.best_loss
        self.best_weights = best_weights
        self.stopper = stopper
        self.run_dir = run_dir
        # Only the chief writes; under multi-worker the chief's backup replaces per-epoch checkpoints.
        self.writes = dist.info.chief
        self.per_epoch_checkpoints = not dist.multi_worker
        self.started = time.perf_counter()
        self.epoch_started = 0.0

    def on_train_begin(self, logs=None):
        # EarlyStopping has just reset itself; put back the state the run continues from.
        state = self.start.stopper
        if state is not None:
            self.stopper.wait = int(state["wait"])
            self.stopper.best = state["best"]
            self.stopper.best_epoch = int(state["best_epoch"])
            self.stopper.stopped_epoch = int(state["stopped_epoch"])

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()
        self.events.on_epoch_begin(epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        self.events.on_batch_end(batch + 1, {key: float(v) for key, v in (logs or {}).items()})

    def on_epoch_end(self, epoch, logs=None):
        result = self.result
        entry = {key: float(v) for key, v in (logs or {}).items()}
        entry["epoch"] = epoch + 1
        entry["seconds"] = round(time.perf_counter() - self.epoch_started, 3)
        best_before = result.best_epoch
        monitored = entry.get(self.stopper.monitor, float("inf"))
        improved = math.isfinite(monitored) and monitored < self.best_loss
        if improved:
            self.best_loss = monitored
            self.best_weights = self.model.get_weights()
            result.best_epoch = epoch + 1
        result.history.append(entry)
        result.stopped_epoch = epoch + 1
        if self.writes:
            self._save(epoch + 1, improved, best_before)
        self.events.on_epoch_end(epoch + 1, entry, improved)

    def _save(self, epoch: int, improved: bool, best_before: int) -> None:
        run_dir, result = self.run_dir, self.result
        if self.per_epoch_checkpoints:
            self.checkpoint(epoch, improved)
        elif improved:
            # Named by epoch: a restart rolled back one epoch still finds its best model.
            from rnncli.models import persist

            persist.save(self.model, run_dir / checkpoints.best_file(epoch))
            atomic_copy(run_dir / checkpoints.best_file(epoch), run_dir / runs.MODEL)
        runs.write_json(run_dir / runs.HISTORY, {"epochs": result.history, "best_epoch": result.best_epoch})
        if not self.per_epoch_checkpoints:
            checkpoints.remove_best_files(run_dir, keep={result.best_epoch, best_before})

    def checkpoint(self, epoch: int, improved: bool) -> None:
        """Model file first, then the JSON commit point; the best model is a copy of it."""
        from rnncli.models import persist

        name = f"checkpoint-{epoch}.keras"
        persist.save(self.model, self.run_dir / name)
        stopper = self.stopper
        checkpoints.Checkpoint(
            epoch=epoch,
            model_file=name,
            history=self.result.history,
            best_epoch=self.result.best_epoch,
            best_loss=None if self.best_loss == float("inf") else self.best_loss,
            stopper={
                "wait": stopper.wait,
                "best": None if stopper.best is None else float(stopper.best),
                "best_epoch": stopper.best_epoch,
                "stopped_epoch": stopper.stopped_epoch,
            },
            stop_training=bool(self.model.stop_training),
            seed_states=[np.asarray(v).tolist() for v in checkpoints.seed_variables(self.model)],
            seconds=round(self.start.seconds + time.perf_counter() - self.started, 3),
        ).write(self.run_dir)
        runs.remove_checkpoints(self.run_dir, keep=name)
        if improved:
            atomic_copy(self.run_dir / name, self.run_dir / runs.MODEL)


class InterruptCheck(_k.callbacks.Callback):
    """Raises a Ctrl-C (or SIGTERM) that a finaliser swallowed, at the next batch or epoch end.

    After `Recorder` and `TensorBoard`, so an epoch that ended is recorded, checkpointed and
    logged before the stop.
    """

    def _check(self, *args, **kwargs) -> None:
        interrupt_pending()

    on_train_batch_end = on_test_batch_end = on_epoch_end = _check


class FromChief(_k.callbacks.Callback):
    """Multi-worker: every worker takes the chief's weights and optimizer state as training starts.

    Last in the list, so it runs after the chief's `BackupAndRestore` has restored them from the
    backup: a worker restarted on a fresh machine takes up exactly the chief's state.
    """

    def __init__(self, dist: Distribution) -> None:
        super().__init__()
        self.dist = dist

    def on_train_begin(self, logs=None):
        self.dist.sync_from_chief([*self.model.weights, *self.model.optimizer.variables])


#: Where a run's TensorBoard logs go: `tensorboard --logdir runs/` shows and compares every run.
LOGS = "logs"


def tensorboard(run_dir: Path):
    """Keras' own TensorBoard callback: loss, accuracy, validation and learning rate per epoch.

    TensorFlow's summary ops are implemented by the `tensorboard` package, which rnncli does not
    require (`pip install "rnncli[tensorboard]"`); without it a run simply has no logs.

    Scalars only, once an epoch (no graph, no histograms, no profiling), so it costs a few
    milliseconds an epoch (docs/performance.md). Before `InterruptCheck`, so an epoch that ended
    is logged (as it is checkpointed) before a Ctrl-C stops the run; a resumed run adds an
    events file beside the first.
    """
    return _k.callbacks.TensorBoard(
        log_dir=str(run_dir / LOGS), histogram_freq=0, write_graph=False, update_freq="epoch", profile_batch=0
    )


def callback_list(recorder: Recorder, stopper, dist: Distribution, run_dir: Path) -> list:
    """EarlyStopping, Recorder, TensorBoard (the chief), InterruptCheck, then the multi-worker
    pair, in that order."""
    callbacks = [stopper, recorder]
    if dist.info.chief and _has_tensorboard():
        callbacks.append(tensorboard(run_dir))
    callbacks.append(InterruptCheck())
    if dist.multi_worker:
        if dist.info.chief:
            backup = str(run_dir / checkpoints.BACKUP)
            callbacks.append(_k.callbacks.BackupAndRestore(backup, delete_checkpoint=False))
        callbacks.append(FromChief(dist))
    return callbacks


def close_writers(callbacks: list) -> None:
    """Close TensorBoard's event writers even when `fit` did not end (Ctrl-C, an error).

    Keras closes them in `on_train_end`, which an interrupted `fit` never reaches; a library
    caller's process would keep their background threads writing to the run's `logs/`.
    """
    for callback in callbacks:
        close = getattr(callback, "_close_writers", None)  # Keras 3.15's own clean-up
        if close is not None:
            close()


def _has_tensorboard() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None
