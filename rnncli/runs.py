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
import math
import os
import socket
import time
from collections.abc import Callable
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

RUNNING, INTERRUPTED, COMPLETE, FAILED = "running", "interrupted", "complete", "failed"
STATES = (RUNNING, INTERRUPTED, COMPLETE, FAILED)

#: Where `latest()` and `open_run()` send what they skipped, so that the CLI can show it.
Warn = Callable[[str], None]


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
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
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


def read_status(run_dir: Path) -> dict:
    """`status.json` checked as rnncli writes it; `{}` when the run has none.

    Raises `RunError` when it exists but is unreadable, not a JSON object, or has no known
    `state` or a non-numeric `updated`: a run whose bookkeeping is damaged must be refused, not
    guessed at (resuming it from epoch 1, or taking it for the latest run).
    """
    path = Path(run_dir) / STATUS
    hint = "the run's bookkeeping is damaged; train again or pick another run"
    try:
        payload = read_json(path)
    except RunError as exc:
        if not path.exists() and not path.is_symlink():
            return {}
        raise RunError(f"{path} is damaged ({exc.message})", hint) from None
    state, updated = payload.get("state"), payload.get("updated", 0.0)
    if state not in STATES:
        raise RunError(f"{path} is damaged (state {state!r} is not one of {', '.join(STATES)})", hint)
    if not _is_time(updated):
        raise RunError(f"{path} is damaged ('updated' is {str(updated)[:40]!r}, not a time)", hint)
    return payload


def _is_time(value: object) -> bool:
    """A finite number of seconds (JSON allows NaN, and integers too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def status(run_dir: Path) -> dict:
    """`status.json` for listing: never raises; a missing or damaged one is state `unknown`."""
    try:
        return read_status(run_dir) or {"state": "unknown"}
    except (RunError, OSError, ValueError):
        return {"state": "unknown"}


def mark_latest(run_dir: Path) -> None:
    root = runs_root()
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / LATEST, str(Path(run_dir).resolve()) + "\n")


def _pointed_run(root: Path, warn: Warn) -> Path | None:
    """The complete run `LATEST` names, or None (no pointer, a stale one, or a damaged one)."""
    pointer = root / LATEST
    try:
        if not pointer.is_file():
            return None
        target = Path(pointer.read_text(encoding="utf-8").strip())
        if target.parts and status(target).get("state") == COMPLETE:
            return target
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL byte in the path
        warn(f"ignoring damaged {pointer} ({exc}); looking for the latest run instead")
    return None


def latest(warn: Warn | None = None) -> Path:
    """The most recently completed run: the `LATEST` pointer if valid, else a scan of the root.

    A damaged pointer or a run with a damaged `status.json` is skipped and reported through
    `warn`: one run's broken bookkeeping must not stop `predict` and `evaluate` using the others.
    """
    warn = warn or (lambda message: None)
    root = runs_root()
    pointed = _pointed_run(root, warn)
    if pointed is not None:
        return pointed
    candidates = []
    try:
        children = sorted(root.iterdir()) if root.is_dir() else []
    except OSError as exc:
        raise RunError(f"cannot list the runs in {root}: {exc}") from exc
    for child in children:
        if not child.is_dir():
            continue
        try:
            state = read_status(child)
        except RunError as exc:
            warn(f"skipping run {child}: {exc.message}")
            continue
        if state.get("state") == COMPLETE:
            candidates.append((float(state.get("updated", 0.0)), child))
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


def open_run(path: Path | None, warn: Warn | None = None) -> RunInfo:
    """Validate a run directory (or find the latest) and read its config.

    `warn` receives what finding the latest run skipped (a damaged pointer or run).
    """
    run_dir = Path(path) if path is not None else latest(warn)
    if not run_dir.is_dir():
        raise RunError(f"run directory {run_dir} does not exist")
    recorded = read_status(run_dir)
    if not recorded:
        raise RunError(f"{run_dir} is not a run directory (no {STATUS})", "pick another run")
    state = recorded["state"]
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
    for key, kind, kind_name in (
        ("label_names", list, "list"),
        ("model", dict, "object"),
        ("dataset", str, "string"),
    ):
        if key not in config:
            raise RunError(f"{run_dir / CONFIG} is malformed: no '{key}'")
        if not isinstance(config[key], kind):
            raise RunError(f"{run_dir / CONFIG} is malformed: '{key}' is not a {kind_name}")
    if not all(isinstance(name, str) for name in config["label_names"]):
        raise RunError(f"{run_dir / CONFIG} is malformed: 'label_names' must be strings")
    return RunInfo(run_dir, config, state)


def lock_held(run_dir: Path) -> bool | None:
    """Whether a live process holds the run's lock: True, False, or None where locks are unavailable.

    A shared, non-blocking `flock` probe, released at once: it conflicts with a training process's
    exclusive lock (`RunLock`) but not with another probe, so two listings never collide. None on
    a system or filesystem without `flock`, where only the pid in `status.json` can tell.
    """
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(Path(run_dir), os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # also releases the probe's lock
    return False


def process_alive(run_dir: Path, recorded: dict | None = None) -> bool:
    """Whether a live process trains in this run, for telling a `running` run from a killed one.

    The lock decides where there is one (the kernel drops it however the process died). Without
    locks, the pid that `status.json` records is checked when it ran on this host; a run of
    another host, or one without a pid, counts as alive: better shown as running than deleted.
    """
    held = lock_held(run_dir)
    if held is not None:
        return held
    recorded = status(run_dir) if recorded is None else recorded
    pid, host = recorded.get("pid"), recorded.get("host")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0 or host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, someone else's
        return True
    return True
