"""One trial of a settings search: train on the training split, score on validation, and stop.

A trial is `train` without what makes a run a run: no run directory, no checkpoints, no test
pass and no export. The test split is padded with the rest (one code path for the data) but never
evaluated, so a search cannot choose settings by the figure it will later report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rnncli.data.corpus import EncodedCorpus
from rnncli.errors import RnncliError
from rnncli.settings import TrainSettings, model_spec
from rnncli.training.data import prepare_arrays

#: Called after each epoch with its number and logs; a reason returned stops the trial there
#: (a pruned trial). Keras' own `stop_training` ends it: no exception crosses `fit`.
EpochHook = Callable[[int, dict[str, float]], "str | None"]


class TrialFailed(RnncliError):
    """A trial that produced no usable model: no finite validation loss, memory exhausted."""


@dataclass
class TrialOutcome:
    """What a search needs to rank a trial: its best epoch's validation figures."""

    val_loss: float
    val_accuracy: float
    best_epoch: int
    epochs: int
    seconds: float
    history: list[dict] = field(default_factory=list)
    #: Why the trial stopped before early stopping ended it: the hook's reason, or "budget".
    stopped: str | None = None


def fit_trial(
    settings: TrainSettings,
    corpus: EncodedCorpus,
    seed: int,
    events,
    on_epoch: EpochHook,
    deadline: float | None = None,
) -> TrialOutcome:
    """Train `settings` on `corpus` (already read with the trial's tokenizer) and score it.

    Early stopping on `val_loss` with the run's patience, as `train` does; `on_epoch` sees every
    epoch's logs and may stop the trial (pruning); past `deadline` (`time.monotonic()`) the
    trial stops after the batch in progress. Raises `TrialFailed` when no epoch reached a
    finite validation loss or memory ran out.
    """
    from rnncli import distribute
    from rnncli.backend import keras
    from rnncli.training.callbacks import InterruptCheck
    from rnncli.training.fit import build_model, check_memory
    from rnncli.training.pipelines import choose_inputs
    from rnncli.training.state import StartState

    k = keras()
    arrays = prepare_arrays(corpus, settings, seed)
    spec = model_spec(settings, len(corpus.label_names))
    check_memory(spec)
    k.backend.clear_session()  # earlier trials' graphs and variables are not kept alive
    dist = distribute.make(distribute.DEFAULT, settings.batch_size, False)
    started = time.perf_counter()
    try:
        model = build_model(
            spec, arrays, dist, StartState.fresh(), seed, deterministic=False, precision=settings.precision
        )
        inputs = choose_inputs(arrays, spec, dist, seed, 0, settings.epochs)
        events.on_train_begin(settings.epochs, inputs.steps_per_epoch, None)
        watcher = _Watcher(events, on_epoch, deadline)
        stopper = k.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience)
        model.fit(
            **inputs.fit_args,
            epochs=settings.epochs,
            callbacks=[stopper, watcher, InterruptCheck()],
            verbose=0,
        )
    except Exception as exc:  # noqa: BLE001 - memory exhaustion has no common type across backends
        if type(exc).__name__ == "ResourceExhaustedError" or isinstance(exc, MemoryError):
            raise TrialFailed(f"out of memory ({type(exc).__name__})") from None
        raise
    return watcher.outcome(time.perf_counter() - started)


def _watcher_base():
    from rnncli.backend import keras

    return keras().callbacks.Callback


class _Watcher(_watcher_base()):  # type: ignore[misc]
    """Keeps the best epoch by finite `val_loss`, relays epochs, stops on a loss that is not finite."""

    def __init__(self, events, on_epoch: EpochHook, deadline: float | None) -> None:
        super().__init__()
        self.events = events
        self.on_epoch = on_epoch
        self.deadline = deadline
        self.stopped: str | None = None
        self.history: list[dict] = []
        self.best: dict | None = None
        self.epoch_started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()
        self.events.on_epoch_begin(epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        self.events.on_batch_end(batch + 1, {key: float(v) for key, v in (logs or {}).items()})
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopped = "budget"
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        entry = {key: float(v) for key, v in (logs or {}).items()}
        entry["epoch"] = epoch + 1
        entry["seconds"] = round(time.perf_counter() - self.epoch_started, 3)
        self.history.append(entry)
        val_loss = entry.get("val_loss", math.inf)
        improved = math.isfinite(val_loss) and (self.best is None or val_loss < self.best["val_loss"])
        if improved:
            self.best = entry
        self.events.on_epoch_end(epoch + 1, entry, improved)
        if not math.isfinite(val_loss):
            self.model.stop_training = True  # a diverged loss does not come back
            return
        if self.stopped is None:
            self.stopped = self.on_epoch(epoch + 1, entry)
        if self.stopped is not None:
            self.model.stop_training = True

    def outcome(self, seconds: float) -> TrialOutcome:
        if self.best is None:
            raise TrialFailed("no epoch reached a finite validation loss")
        return TrialOutcome(
            val_loss=self.best["val_loss"],
            val_accuracy=self.best.get("val_accuracy", math.nan),
            best_epoch=int(self.best["epoch"]),
            epochs=len(self.history),
            seconds=seconds,
            history=self.history,
            stopped=self.stopped,
        )
