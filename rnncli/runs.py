"""Run directories: what a training run leaves behind, and finding it again.

A run directory holds `config.json` (everything needed to rebuild and re-encode), `vocab.json`,
`model.keras` (the best epoch so far), `history.json` (one entry per finished epoch),
`metrics.json` (test metrics) and `status.json`. Every file is written atomically, and
`status.json` says `complete` only after everything else is in place, so an interrupted or killed
run never looks finished. While training, `checkpoint.json` and `checkpoint-N.keras` hold the
last finished epoch for `rnncli train --resume`; they are removed once the run is complete.

A training process holds an advisory lock on its run directory (released by the kernel even on
`kill -9`), which is how `--resume` tells a dead run from one that is still training.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from rnncli.atomic import atomic_create_text, atomic_write_text
from rnncli.errors import RunError

CONFIG = "config.json"
VOCAB = "vocab.json"
MODEL = "model.keras"
HISTORY = "history.json"
METRICS = "metrics.json"
STATUS = "status.json"
CHECKPOINT = "checkpoint.json"
LATEST = "LATEST"

RUNNING, INTERRUPTED, COMPLETE = "running", "interrupted", "complete"


def runs_root() -> Path:
    """`$RNNCLI_RUNS`, else `runs/` under the current folder."""
    return Path(os.environ.get("RNNCLI_RUNS", "runs"))


def write_json(path: Path, payload: object) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> dict:
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read {path}: {exc}") from exc
    if not isinstance(payload, dict):
        raise RunError(f"{path} is malformed: expected a JSON object")
    return payload


def create(prefix: str, out: Path | None = None) -> Path:
    """A new run directory, claimed for this process; never one that another process is using.

    The claim is `status.json` (state `running`) created exclusively, so two processes given the
    same `--out` cannot both take it; automatic names are made with an exclusive `mkdir`.
    """
    if out is not None:
        out = Path(out)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RunError(f"{out} already exists and is not empty", "choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        if not _claim(out):
            raise RunError(f"{out} is being used by another rnncli process", "choose another --out")
        return out
    root = runs_root()
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        candidate = root / (f"{prefix}-{stamp}" + (f"-{attempt + 1}" if attempt else ""))
        try:
            candidate.mkdir()  # atomic: fails if a concurrent run took the name
        except FileExistsError:
            continue
        if _claim(candidate):
            return candidate
    raise RunError(f"cannot create a run directory under {root}")


def _claim(run_dir: Path) -> bool:
    try:
        atomic_create_text(run_dir / STATUS, json.dumps(_status_payload(RUNNING), indent=2) + "\n")
    except FileExistsError:
        return False
    return True


def _status_payload(state: str, **extra: object) -> dict:
    payload: dict = {"state": state, "updated": time.time(), **extra}
    if state == RUNNING:
        # For people reading a stuck run; `--resume` trusts the lock below, not this.
        payload.update(pid=os.getpid(), host=socket.gethostname())
    return payload


class RunLock:
    """An exclusive advisory lock on a run directory for as long as this process trains in it.

    `flock` on the directory itself: no extra file, and the kernel drops it when the process
    dies however it dies, so a `kill -9` leaves a run that `--resume` may take over.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._fd: int | None = None
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, `--resume` trusts the user
            return
        fd = os.open(self.run_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunError(
                f"run {self.run_dir} is in use by another rnncli process",
                "wait for it to finish or stop it first",
            ) from None
        except OSError:  # a filesystem without locks (some network mounts): go on unlocked
            os.close(fd)
            return
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def set_status(run_dir: Path, state: str, **extra: object) -> None:
    write_json(run_dir / STATUS, _status_payload(state, **extra))


def remove_checkpoints(run_dir: Path, keep: str | None = None) -> None:
    """Delete resume checkpoints (all, or all but `keep`); they are only needed until complete."""
    for path in Path(run_dir).glob("checkpoint-*.keras"):
        if path.name != keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    if keep is None:
        with contextlib.suppress(FileNotFoundError):
            (Path(run_dir) / CHECKPOINT).unlink()


def status(run_dir: Path) -> dict:
    try:
        return read_json(run_dir / STATUS)
    except RunError:
        return {"state": "unknown"}


def mark_latest(run_dir: Path) -> None:
    root = runs_root()
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / LATEST, str(Path(run_dir).resolve()) + "\n")


def latest() -> Path:
    """The most recently completed run: the `LATEST` pointer if valid, else a scan of the root."""
    root = runs_root()
    pointer = root / LATEST
    if pointer.is_file():
        target = Path(pointer.read_text(encoding="utf-8").strip())
        if status(target).get("state") == COMPLETE:
            return target
    candidates = []
    if root.is_dir():
        for child in root.iterdir():
            state = status(child) if child.is_dir() else {}
            if state.get("state") == COMPLETE:
                candidates.append((float(state.get("updated", 0)), child))
    if not candidates:
        raise RunError(
            f"no completed run found under {root.resolve()}",
            "train one with 'rnncli train DATASET' or pass --model RUN",
        )
    return max(candidates)[1]


@dataclass(frozen=True)
class RunInfo:
    path: Path
    config: dict
    state: str

    @property
    def label_names(self) -> list[str]:
        return list(self.config["label_names"])


def open_run(path: Path | None) -> RunInfo:
    """Validate a run directory (or find the latest) and read its config."""
    run_dir = Path(path) if path is not None else latest()
    if not run_dir.is_dir():
        raise RunError(f"run directory {run_dir} does not exist")
    state = status(run_dir).get("state", "unknown")
    # An interrupted run kept its best model on purpose; a running or unknown one may be half-written.
    if state not in (COMPLETE, INTERRUPTED):
        hint = "train again or pick another run"
        if state == RUNNING:
            hint = f"still training, or killed: 'rnncli train --resume {run_dir}' continues it"
        raise RunError(f"run {run_dir} is not complete (state: {state})", hint)
    config = read_json(run_dir / CONFIG)
    for name in (MODEL, VOCAB):
        if not (run_dir / name).is_file():
            raise RunError(f"run {run_dir} has no {name}", "train again or pick another run")
    for key in ("label_names", "model", "dataset"):
        if key not in config:
            raise RunError(f"{run_dir / CONFIG} is malformed: no '{key}'")
    return RunInfo(run_dir, config, state)
