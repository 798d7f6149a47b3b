"""What a run needs to continue after a finished epoch: checkpoints, backups and best models.

Single-process runs keep a per-epoch `Checkpoint` (model file plus a JSON commit point) for
`--resume`; multi-worker jobs keep Keras' `BackupAndRestore` backup on the chief, from which
`Restart` rebuilds the callbacks' state after a lost worker.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnncli import runs
from rnncli.errors import RunError


@dataclass
class Checkpoint:
    """Everything needed to continue after a finished epoch, beside the checkpoint model file.

    The model file (weights and optimizer state) is written first under a new name; this JSON,
    written atomically after it, is the commit point, so a kill at any moment leaves either the
    previous epoch's pair or this one's, never a mix.
    """

    epoch: int  # epochs finished
    model_file: str
    history: list[dict]
    best_epoch: int
    best_loss: float | None
    stopper: dict  # EarlyStopping's wait, best, best_epoch (0-based) and stopped_epoch
    stop_training: bool
    seed_states: list[list[int]]  # every layer's random-generator position (dropout masks)
    seconds: float

    def write(self, run_dir: Path) -> None:
        runs.write_json(run_dir / runs.CHECKPOINT, {"format": 1, **asdict(self)})

    @classmethod
    def read(cls, run_dir: Path) -> Checkpoint | None:
        """The last committed checkpoint, or None when no epoch finished (resume from scratch)."""
        path = run_dir / runs.CHECKPOINT
        if not path.exists():
            return None
        payload = runs.read_json(path)
        payload.pop("format", None)
        try:
            checkpoint = cls(**payload)
        except TypeError as exc:
            raise RunError(f"{path} is malformed ({exc})", "train a new run") from exc
        if not (run_dir / checkpoint.model_file).is_file():
            raise RunError(f"{path} names {checkpoint.model_file}, which is missing", "train a new run")
        return checkpoint


def seed_variables(model) -> list:
    """The layers' random-generator states: in `model.variables` but not in `model.weights`.

    `.keras` files do not keep them, yet they decide every dropout mask; restoring them is what
    makes a resumed run draw the masks the uninterrupted one would have.
    """
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


#: The chief's `BackupAndRestore` folder inside a multi-worker run; removed once it is complete.
BACKUP = "backup"


@dataclass
class Restart:
    """Where a multi-worker job stands as its workers start: the chief's last backed-up epoch.

    The chief reads it from its run directory; the other workers receive it from the chief, so
    a worker restarted on a fresh machine (or a fresh pod) takes up the same state.
    """

    epoch: int = 0  # finished epochs in the chief's backup
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_loss: float = float("inf")
    stopper: dict = field(
        default_factory=lambda: {"wait": 0, "best": None, "best_epoch": 0, "stopped_epoch": 0}
    )
    stop_training: bool = False

    def vector(self) -> list[float]:
        best = self.stopper["best"]
        return [
            self.epoch,
            self.best_epoch,
            self.best_loss,
            self.stopper["wait"],
            float("nan") if best is None else best,
            0.0 if best is None else 1.0,
            self.stopper["best_epoch"],
            self.stopper["stopped_epoch"],
            float(self.stop_training),
        ]

    @classmethod
    def from_vector(cls, values: list[float], history: list[dict]) -> Restart:
        epoch, best_epoch, best_loss, wait, best, has_best, stopper_best, stopped, stop = values
        return cls(
            epoch=int(epoch),
            history=history,
            best_epoch=int(best_epoch),
            best_loss=best_loss,
            stopper={
                "wait": int(wait),
                "best": best if has_best else None,
                "best_epoch": int(stopper_best),
                "stopped_epoch": int(stopped),
            },
            stop_training=bool(stop),
        )


def read_restart(run_dir: Path, patience: int, monitor: str = "val_loss") -> Restart:
    """The chief's state after the epoch its backup holds (none yet: a fresh start).

    Epoch ends write the history before the backup, so the history may hold one epoch more,
    which is dropped: that epoch is trained again from the backed-up weights.
    """
    meta = run_dir / BACKUP / "training_metadata.json"
    if not meta.is_file():
        return Restart()
    try:
        epoch = int(json.loads(meta.read_text(encoding="utf-8"))["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunError(
            f"{meta} is damaged ({exc})", f"remove {run_dir / BACKUP} to start the run over"
        ) from exc
    history_path = run_dir / runs.HISTORY
    history = runs.read_json(history_path).get("epochs", []) if history_path.is_file() else []
    if len(history) < epoch:
        raise RunError(
            f"the backup in {run_dir} is at epoch {epoch} but its history has {len(history)} epochs",
            f"remove {run_dir / BACKUP} to start the run over",
        )
    return replay(history[:epoch], patience, monitor)


def replay(history: list[dict], patience: int, monitor: str = "val_loss") -> Restart:
    """Best epoch and early-stopping state after `history`, as the callbacks would hold them.

    Mirrors `Recorder` (improved: `monitor` below the best so far) and Keras 3's
    `EarlyStopping` for `monitor` (mode min, no min_delta, no baseline); `monitor` is
    `val_loss`, or `loss` for a run trained with `--val none`.
    """
    restart = Restart(epoch=len(history), history=list(history))
    stopper = restart.stopper
    for index, entry in enumerate(history):
        if entry.get(monitor, float("inf")) < restart.best_loss:
            restart.best_loss = entry[monitor]
            restart.best_epoch = index + 1
        current = entry.get(monitor)
        if current is None:
            continue
        stopper["wait"] += 1
        if stopper["best"] is None or current < stopper["best"]:
            stopper.update(best=current, best_epoch=index, wait=0)
            continue
        if stopper["wait"] >= patience and index > 0:
            stopper["stopped_epoch"] = index
            restart.stop_training = True
    return restart


def best_file(epoch: int) -> str:
    return f"best-{epoch}.keras"


def remove_best_files(run_dir: Path, keep: set[int]) -> None:
    """Drop best-model copies except those a restart may still need (the last two bests)."""
    for path in run_dir.glob("best-*.keras"):
        if path.name not in {best_file(epoch) for epoch in keep}:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
