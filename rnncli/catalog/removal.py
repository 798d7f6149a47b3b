"""Removing runs: `runs rm` and `runs prune`, and mending `LATEST` and the job pointers after.

The strict half of the catalog: it deletes only rnncli runs directly under the runs root, never
one a live process holds (its lock is held for the whole deletion), never through a symbolic
link, and leaves `LATEST` pointing at a complete run or not at all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rnncli import runs
from rnncli.catalog.listing import (
    DAMAGED,
    KILLED,
    Run,
    check_choice,
    find,
    latest_run,
    read_run,
    scan,
)
from rnncli.errors import RunError, UsageError

#: What `prune --status` may remove: never a complete run (that is `--keep`), never a live one.
PRUNABLE = (runs.INTERRUPTED, runs.FAILED, KILLED, DAMAGED)


@dataclass(frozen=True)
class Removal:
    """What happened to one run `remove` was given: removed, or kept and why."""

    run: Run
    removed: bool
    reason: str | None = None


IN_USE = "in use by a running rnncli process"


def removable(name: str | Path) -> Run:
    """The run `runs rm` names, if it may be deleted at all; else a RunError saying why not.

    Only a directory directly under the runs root holding `status.json` or `config.json`; never
    a symbolic link (deleting through it would reach outside the root), never the root itself.
    Whether a live process holds it is decided when it is removed, under its lock.
    """
    root = runs.runs_root()
    path = find(name)
    if path.is_symlink():
        raise RunError(f"{path} is a symbolic link; rnncli removes run directories, never through a link")
    real, root_real = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    if real == root_real or real.parent != root_real:
        raise RunError(f"{path} is not a run in the runs root {root}", "only the runs it lists are removed")
    run = read_run(path, latest_run())
    if not run.is_run:
        raise RunError(f"{path} is not an rnncli run ({run.problem}); not removed")
    return run


def prune_plan(found: list[Run], keep: int | None, statuses: list[str] | None) -> list[Run]:
    """The runs `runs prune` removes: complete runs beyond the `keep` most recently completed,
    and runs in any of `statuses` (interrupted, failed, killed, damaged)."""
    statuses = list(statuses or ())
    if keep is None and not statuses:
        raise UsageError("say what to prune: --keep N, --status STATUS, or both")
    if keep is not None and keep < 0:
        raise UsageError(f"--keep must be 0 or more, got {keep}")
    for status in statuses:
        check_choice("--status", status, PRUNABLE)
    doomed: dict[Path, Run] = {}
    if keep is not None:
        complete = [run for run in found if run.status == runs.COMPLETE]
        complete.sort(key=lambda run: run.completed_time, reverse=True)
        doomed.update((run.path, run) for run in complete[keep:])
    doomed.update((run.path, run) for run in found if run.status in statuses)
    return sorted(doomed.values(), key=lambda run: run.name)


def remove(targets: list[Run]) -> tuple[list[Removal], str | None]:
    """Delete each run that is still removable and free, then mend `LATEST` and the job pointers.

    Returns what happened to each, and a sentence when `LATEST` moved (or went: no complete run
    is left). A run a live process holds is kept: its lock is taken for the whole deletion, so
    a `train --resume` cannot start in a half-deleted directory either.
    """
    removals = [_remove_one(run) for run in targets]
    gone = {os.path.realpath(r.run.path) for r in removals if r.removed}
    note = _mend_latest(gone) if gone else None
    _forget_jobs(gone)
    return removals, note


def _remove_one(run: Run) -> Removal:
    try:
        fresh = removable(run.path)  # again: the run may have changed since it was listed
    except RunError as exc:
        return Removal(run, False, exc.message)
    if fresh.status == runs.RUNNING:  # alive, or cannot be told from alive (no locks here)
        return Removal(run, False, IN_USE)
    real = Path(os.path.realpath(run.path))
    try:
        lock = runs.RunLock(real)
    except RunError:
        return Removal(run, False, IN_USE)
    except OSError as exc:
        return Removal(run, False, f"cannot open it ({exc.strerror or exc})")
    with lock:
        try:
            shutil.rmtree(real)
        except OSError as exc:
            return Removal(run, False, f"only partly removed ({exc.strerror or exc}: {exc.filename})")
    return Removal(run, True)


def _mend_latest(gone: set[str]) -> str | None:
    """Point `LATEST` at the most recently completed run left, if it pointed at a removed one."""
    pointer = runs.runs_root() / runs.LATEST
    try:
        target = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else ""
    except (OSError, ValueError):
        return None
    if not target or os.path.realpath(target) not in gone:
        return None
    left = [run for run in scan() if run.status == runs.COMPLETE]
    if not left:
        with contextlib.suppress(FileNotFoundError):
            pointer.unlink()
        return "LATEST removed: no complete run is left"
    newest = max(left, key=lambda run: run.completed_time)
    runs.mark_latest(newest.path)
    return f"LATEST now points at {newest.name}"


def _forget_jobs(gone: set[str]) -> None:
    """Drop the multi-worker job pointers (`.jobs/JOB`) that named a removed run."""
    jobs = runs.runs_root() / ".jobs"
    if not gone or not jobs.is_dir() or jobs.is_symlink():
        return
    for pointer in jobs.iterdir():
        with contextlib.suppress(OSError, ValueError):
            if pointer.is_file() and os.path.realpath(pointer.read_text(encoding="utf-8").strip()) in gone:
                pointer.unlink()
    with contextlib.suppress(OSError):
        jobs.rmdir()  # only when no other job is unfinished
