"""Where a run trains and which directory it writes: one process, or a multi-worker job.

Under `--strategy multi-worker` every worker runs the same command with its own `TF_CONFIG`.
Only the chief writes the run directory (the others work in a scratch folder they remove), and
a chief started again with the same command and cluster finds its unfinished run through a
pointer named by the job key, then continues from the `BackupAndRestore` backup inside it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rnncli import distribute, runs
from rnncli.atomic import atomic_write_text
from rnncli.distribute import ClusterTask, Distribution
from rnncli.progress import Reporter
from rnncli.settings import TrainSettings


@dataclass(frozen=True)
class Placement:
    """The cluster this process belongs to (None: a single process) and its job key."""

    cluster: ClusterTask | None = None
    job: str | None = None

    @classmethod
    def of(cls, settings: TrainSettings) -> Placement:
        """Read `TF_CONFIG` for multi-worker training, before any data or TensorFlow, so a bad
        one is a one-line usage error."""
        if settings.strategy != distribute.MULTI_WORKER:
            return cls()
        cluster = distribute.read_cluster(os.environ.get("TF_CONFIG"))
        return cls(cluster, cluster.job_key(_job_settings(settings)))

    def seed(self, settings: TrainSettings) -> int:
        """The given seed; else one shared by every worker of a job (they must split and shuffle
        alike, and so must a restart); else a fresh random one."""
        if settings.seed is not None:
            return settings.seed
        if self.job is not None:
            return int(self.job[:8], 16) % 2**31
        return secrets.randbelow(2**31)

    def run_dir(self, settings: TrainSettings) -> tuple[Path, bool]:
        """The directory this process trains in, and whether it continues an unfinished run."""
        if self.cluster is None:
            return runs.create(f"{settings.name}-{settings.arch}", settings.out), False
        return _cluster_run_dir(settings, self.cluster, self.job or "")

    def done(self, chief: bool) -> None:
        """The job finished: its chief forgets the pointer to its run."""
        if self.job is None or not chief:
            return
        pointer = _job_pointer(self.job)
        with contextlib.suppress(FileNotFoundError):
            pointer.unlink()
        with contextlib.suppress(OSError):  # only when no other job is unfinished
            pointer.parent.rmdir()


def start_distribution(
    name: str, settings: TrainSettings, placement: Placement, reporter: Reporter
) -> Distribution:
    """Start the strategy; for a cluster, wait (with a note) until every worker has joined."""
    cluster = placement.cluster
    if cluster is None:
        return distribute.make(name, settings.batch_size, settings.global_batch)
    task = reporter.task(f"Waiting for all {cluster.workers} workers of TF_CONFIG to join", None)
    try:
        return distribute.make(name, settings.batch_size, settings.global_batch, cluster, placement.job)
    finally:
        task.close()


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


def _cluster_run_dir(settings: TrainSettings, cluster: ClusterTask, job: str) -> tuple[Path, bool]:
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


@contextlib.contextmanager
def lost_workers(dist: Distribution, result=None):
    """Turn TensorFlow's report of a vanished worker into one line that says how to continue.

    A multi-worker job cannot go on short of a worker: collectives abort on every survivor
    once the lost one misses its heartbeats. Every worker is started again; they continue
    from the chief's backup.
    """
    from rnncli.training.outcome import LostCluster

    try:
        yield
    except Exception as exc:
        if not (dist.multi_worker and distribute.lost_worker(exc)):
            raise
        after = f" after epoch {result.stopped_epoch}" if result is not None else ""
        raise LostCluster(
            f"{dist.info.task}: lost contact with the cluster{after} ({distribute.short_reason(exc)})",
            "start every worker again with the same command and TF_CONFIG; "
            "they continue after the last epoch in the chief's backup",
        ) from None
