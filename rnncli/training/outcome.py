"""How a run that stops early is left on disk, and the one line that says so.

Everything that can stop a run between its creation and `complete` passes through `guarded`:
Ctrl-C and SIGTERM leave it `interrupted` (resumable), as does a full disk or a lost cluster;
anything else (a loss that never became finite, memory exhausted, a bug) leaves it `failed`.
Either way it is never `complete`, never `LATEST`, and never `running` with a dead pid.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rnncli import runs
from rnncli.errors import RnncliError, RunError, TrainingInterrupted, TrainingTerminated
from rnncli.training.events import TrainResult
from rnncli.training.signals import Terminated

_DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


class LostCluster(RunError):
    """A multi-worker job lost a worker; every worker is started again to continue."""


@dataclass
class Phase:
    """Where the run is, for the message: `fit` while epochs run, then `finish`."""

    name: str = "fit"
    best_loss: float | None = None
    #: What `best_loss` is: `val_loss`, or `loss` with `--val none`.
    monitor: str = "val_loss"


@contextlib.contextmanager
def guarded(result: TrainResult, writes: bool, multi_worker: bool, phase: Phase) -> Iterator[None]:
    run_dir = result.run_dir
    again = (
        "start every worker again with the same command to continue it"
        if multi_worker
        else f"'rnncli train --resume {run_dir}' {'finishes' if phase.name == 'finish' else 'continues'} it"
    )
    try:
        yield
    except KeyboardInterrupt as exc:
        _mark(run_dir, writes, runs.INTERRUPTED, result)
        kind = TrainingTerminated if isinstance(exc, Terminated) else TrainingInterrupted
        raise kind(_interrupted(result, phase, isinstance(exc, Terminated)), again) from None
    except LostCluster:
        _mark(run_dir, writes, runs.INTERRUPTED, result)
        raise
    except OSError as exc:
        if exc.errno not in _DISK_FULL:
            _mark(run_dir, writes, runs.FAILED, result)
            raise
        _mark(run_dir, writes, runs.INTERRUPTED, result)
        where = exc.filename or run_dir
        raise RunError(
            f"{exc.strerror or 'no space left'} while writing {where}", f"free space, then {again}"
        ) from None
    except RnncliError:
        _mark(run_dir, writes, runs.FAILED, result)
        raise
    except BaseException as exc:
        _mark(run_dir, writes, runs.FAILED, result)
        if _out_of_memory(exc):
            raise RunError(
                f"out of memory while training run {run_dir} ({type(exc).__name__})",
                "lower --num-words, --buckets, --batch-size or --maxlen",
            ) from None
        raise


def _interrupted(result: TrainResult, phase: Phase, terminated: bool) -> str:
    what = "terminated" if terminated else "interrupted"
    run_dir = result.run_dir
    if phase.name == "finish":
        best = f"the best model (epoch {result.best_epoch}) is kept in {run_dir}"
        return f"{what} while testing and exporting; {best}"
    if result.best_epoch:
        loss = f", {phase.monitor} {phase.best_loss:.4f}" if phase.best_loss is not None else ""
        return f"{what}: best model so far (epoch {result.best_epoch}{loss}) kept in {run_dir}"
    return f"{what} before the first epoch ended; nothing kept in {run_dir}"


def _mark(run_dir: Path, writes: bool, state: str, result: TrainResult) -> None:
    """Best effort: on a full disk even this small write may fail, and the error says more."""
    if not writes:
        return
    with contextlib.suppress(OSError):
        runs.set_status(run_dir, state, best_epoch=result.best_epoch)


def _out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    return type(exc).__name__ == "ResourceExhaustedError"
