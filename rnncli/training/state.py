"""The state a run continues from: nothing, a per-epoch checkpoint, or a multi-worker restart.

One type with one constructor per source, so the fit step reads the same fields whichever way
the run started, and restoring them into a model is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnncli import checkpoints, runs
from rnncli.atomic import atomic_copy
from rnncli.errors import RunError


@dataclass
class StartState:
    epoch: int = 0  # finished epochs
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_loss: float = float("inf")
    #: EarlyStopping's state to put back (None: let it start fresh).
    stopper: dict | None = None
    #: The earlier run had already stopped early.
    stop_training: bool = False
    seconds: float = 0.0
    #: A checkpoint's model file (weights and optimizer state) to load before training.
    model_file: str | None = None
    #: The layers' random-generator positions, so dropout masks continue where they were.
    seed_states: list | None = None
    #: A multi-worker restart's copy of its best model (the chief's `best-N.keras`).
    best_file: str | None = None

    @classmethod
    def fresh(cls) -> StartState:
        return cls()

    @classmethod
    def from_checkpoint(cls, checkpoint: checkpoints.Checkpoint) -> StartState:
        return cls(
            epoch=checkpoint.epoch,
            history=list(checkpoint.history),
            best_epoch=checkpoint.best_epoch,
            best_loss=float("inf") if checkpoint.best_loss is None else checkpoint.best_loss,
            stopper=checkpoint.stopper,
            stop_training=checkpoint.stop_training,
            seconds=checkpoint.seconds,
            model_file=checkpoint.model_file,
            seed_states=checkpoint.seed_states,
        )

    @classmethod
    def from_restart(cls, restart: checkpoints.Restart) -> StartState:
        if not restart.epoch:
            return cls()
        return cls(
            epoch=restart.epoch,
            history=list(restart.history),
            best_epoch=restart.best_epoch,
            best_loss=restart.best_loss,
            stopper=restart.stopper,
            stop_training=restart.stop_training,
            seconds=sum(float(entry.get("seconds", 0.0)) for entry in restart.history),
            best_file=checkpoints.best_file(restart.best_epoch) if restart.best_epoch else None,
        )

    def finished(self, epochs: int) -> bool:
        """Whether the earlier run had already trained every epoch it was going to."""
        return self.epoch > 0 and (self.stop_training or self.epoch >= epochs)

    def best_loss_or_none(self) -> float | None:
        return None if self.best_loss == float("inf") else self.best_loss

    def restore(self, model, spec, run_dir: Path, writes: bool, scope) -> list | None:
        """Put this state into a freshly built model; return the best weights so far, if known.

        A checkpoint's weights and optimizer state are loaded here; a multi-worker restart's come
        from Keras' `BackupAndRestore` as training starts, so only its best model is read here.
        """
        from rnncli.models import persist

        best_weights = None
        if self.model_file is not None:
            _load_checkpoint(model, run_dir / self.model_file, self.seed_states or [], run_dir, scope)
            if self.best_epoch == self.epoch:
                # The kill may have come between the checkpoint and the best-model copy.
                best_weights = model.get_weights()
                atomic_copy(run_dir / self.model_file, run_dir / runs.MODEL)
            elif self.best_epoch:
                best_weights = persist.load(run_dir / runs.MODEL, spec).get_weights()
        elif self.best_file is not None and writes:
            best_weights = persist.load(run_dir / self.best_file, spec).get_weights()
            atomic_copy(run_dir / self.best_file, run_dir / runs.MODEL)
        if self.epoch and writes:
            runs.write_json(run_dir / runs.HISTORY, {"epochs": self.history, "best_epoch": self.best_epoch})
        return best_weights


def _load_checkpoint(model, path: Path, seed_states: list, run_dir: Path, scope) -> None:
    if not model.optimizer.built:
        with scope():
            model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(path)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a damaged file
        raise RunError(f"cannot load checkpoint {path}: {exc}") from exc
    seeds = checkpoints.seed_variables(model)
    if len(seeds) != len(seed_states):
        raise RunError(f"{run_dir / runs.CHECKPOINT} does not fit the model", "train a new run")
    for variable, value in zip(seeds, seed_states):
        variable.assign(np.asarray(value, dtype=variable.dtype))
