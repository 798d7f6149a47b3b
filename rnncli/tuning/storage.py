"""Where a study lives: a journal file by default, any database Optuna speaks when asked.

Optuna's own storages carry the parallel and resumable parts: a journal file (appends under a file
lock) serves every process of one machine; a database URL (`sqlite:///`, `postgresql://`, ...)
serves several machines. What Optuna cannot know is that a trial's process was killed: a journal
has no heartbeat, so a killed trial would stay RUNNING forever. Each trial records its host, pid
and the pid's start time, and a new process marks such orphans of its own host failed.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from rnncli.errors import RunError, UsageError

JOURNAL = "journal.log"


def open_storage(url: str | None, folder: Path):
    """The Optuna storage named by `--storage` (a file path or a database URL), else the folder's journal."""
    import optuna

    if url is not None and "://" in url:
        try:
            return optuna.storages.RDBStorage(url)
        except ImportError as exc:
            raise UsageError(f"--storage {url}: its database driver is not installed ({exc.name})") from None
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors differ by database and driver
            raise RunError(f"cannot open --storage {url}: {_first_line(exc)}") from None
    path = Path(url) if url is not None else folder / JOURNAL
    if path.is_dir():
        raise UsageError(f"--storage {path} is a folder", "name a journal file, or a database URL")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        storage = optuna.storages.JournalStorage(backend)
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot open the study journal {path}: {_first_line(exc)}") from None
    return storage


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def owner_attrs() -> dict[str, object]:
    """What a trial records about the process running it, for `fail_orphans` to check later."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "pid_started": _started(os.getpid())}


def fail_orphans(study) -> list[int]:
    """Mark failed the RUNNING trials of this host whose process is gone; their numbers."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        if attrs.get("host") != host or not isinstance(attrs.get("pid"), int):
            continue  # another machine's trial, or one that never said whose it is
        if _alive(attrs["pid"], attrs.get("pid_started")):
            continue
        # The frozen trial's id is the storage's key for it; Optuna's public `tell` cannot attach
        # the reason, so it is set through the storage, then the trial ended through `tell`.
        study._storage.set_trial_user_attr(trial._trial_id, "error", "its process ended mid-trial (killed)")
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        failed.append(trial.number)
    return failed


def _alive(pid: int, started: object) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # The pid may have been reused by another process since: compare start times where known.
    return started is None or _started(pid) == started


def _started(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None
