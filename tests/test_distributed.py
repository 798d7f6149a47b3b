"""`--strategy`: mirrored replicas on logical CPUs, and multi-worker clusters on 127.0.0.1.

The cluster tests start real `rnncli train` workers in subprocesses, each with its own
`TF_CONFIG`, and SIGKILL one mid-epoch to check that the job continues from the chief's
`BackupAndRestore` backup. Every process is killed in a `finally` and every wait is bounded, so
a hung collective fails the test instead of hanging it. Loopback and CPU only.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from rnncli.distribute import read_cluster
from rnncli.errors import UsageError
from tests.conftest import needs_reuters, run_cli

SLICE = ["reuters", "--limit", "200", "--maxlen", "30", "--num-words", "300", "--no-plot"]
#: Generous: a worker starts in ~5 s and trains this slice in seconds; the bound only ends a hang.
BOUND = 240


def _one_line_error(result, code):
    assert result.returncode == code, result.stderr.decode()
    err = result.stderr.decode().strip()
    assert err.startswith("rnncli: error:") and "\n" not in err and "Traceback" not in err
    return err


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tf_configs(workers: int) -> list[str]:
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(workers)]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(workers)]


class Worker:
    """One `rnncli train` process; its output goes to files, so no pipe can fill up and block it."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.out = log.with_suffix(".out")
        self.err = log.with_suffix(".err")
        full_env = {key: value for key, value in os.environ.items() if key != "RNNCLI_CPU_DEVICES"}
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rnncli", *args], stdout=out, stderr=err, env={**full_env, **env}
            )

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, deadline: float) -> None:
        while text not in self.stdout:
            assert self.process.poll() is None, f"exited {self.process.returncode}: {self.stderr}"
            assert time.monotonic() < deadline, f"no {text!r} in time: {self.stdout}"
            time.sleep(0.05)

    def finish(self, deadline: float) -> int:
        return self.process.wait(timeout=max(1.0, deadline - time.monotonic()))


@contextmanager
def cluster(args: list[str], runs: Path, logs: Path, tag: str, configs: list[str] | None = None):
    """Start one worker per TF_CONFIG; whatever happens, none outlives the block."""
    configs = configs or _tf_configs(2)
    workers = [
        Worker(
            args,
            # TMPDIR: a worker's scratch folder (left behind only by a SIGKILL) stays in the test's.
            {"TF_CONFIG": config, "RNNCLI_RUNS": str(runs), "TMPDIR": str(logs)},
            logs / f"{tag}-{index}",
        )
        for index, config in enumerate(configs)
    ]
    try:
        yield workers
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait(timeout=30)


def _run_dir(worker: Worker) -> Path:
    line = next(line for line in worker.stdout.splitlines() if line.startswith("Run directory: "))
    return Path(line.removeprefix("Run directory: "))


def _epoch_metrics(worker: Worker, epoch: str) -> list[str]:
    """An epoch line's loss and accuracy columns, without its (per-process) seconds."""
    line = next(line for line in worker.stdout.splitlines() if line.startswith(epoch))
    return line.split("  ")[1:5]


def _predicts(run: Path) -> None:
    answer = run_cli("predict", "--json", "--model", str(run), "oil prices rose", "wheat exports")
    assert answer.returncode == 0, answer.stderr.decode()
    records = [json.loads(line) for line in answer.stdout.decode().splitlines()]
    assert len(records) == 2 and all(0.0 <= r["probability"] <= 1.0 for r in records)


# --- fast: TF_CONFIG checks, the early-stopping replay, errors before TensorFlow ---


def test_tf_config_is_read_and_every_mistake_is_a_usage_error():
    chief_less = {
        "cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
        "task": {"type": "worker", "index": 1},
    }
    task = read_cluster(json.dumps(chief_less))
    assert (task.workers, task.chief, task.name) == (2, False, "worker 1")
    with_chief = {"cluster": {"chief": ["h:1"], "worker": ["h:2"]}, "task": {"type": "chief", "index": 0}}
    assert read_cluster(json.dumps(with_chief)).chief
    assert task.job_key({"a": 1}) == read_cluster(json.dumps(chief_less)).job_key({"a": 1})
    assert task.job_key({"a": 1}) != task.job_key({"a": 2})
    bad = [
        None,
        "",
        "{not json",
        "[]",
        json.dumps({"task": {"type": "worker", "index": 0}}),
        json.dumps({"cluster": {"ps": ["h:1"]}, "task": {"type": "ps", "index": 0}}),
        json.dumps({"cluster": {"worker": ["h"]}, "task": {"type": "worker", "index": 0}}),
        json.dumps({"cluster": {"worker": ["h:1", "h:1"]}, "task": {"type": "worker", "index": 0}}),
        json.dumps({"cluster": {"chief": ["h:1", "h:2"]}, "task": {"type": "chief", "index": 0}}),
        json.dumps({"cluster": {"worker": ["h:1"]}}),
        json.dumps({"cluster": {"worker": ["h:1"]}, "task": {"type": "chief", "index": 0}}),
        json.dumps({"cluster": {"worker": ["h:1"]}, "task": {"type": "worker", "index": 1}}),
        json.dumps({"cluster": {"worker": ["h:1"]}, "task": {"type": "worker", "index": True}}),
    ]
    for raw in bad:
        with pytest.raises(UsageError, match="TF_CONFIG"):
            read_cluster(raw)


def test_strategy_mistakes_are_one_line_errors_before_tensorflow(runs_dir):
    env = {"TF_CONFIG": ""}
    err = _one_line_error(run_cli("train", *SLICE, "--strategy", "multi-worker", env=env), 2)
    assert "needs the TF_CONFIG environment variable" in err
    err = _one_line_error(run_cli("train", *SLICE, "--strategy", "multi-worker", env={"TF_CONFIG": "{"}), 2)
    assert "TF_CONFIG is not valid JSON" in err
    err = _one_line_error(run_cli("train", *SLICE, "--strategy", "everywhere"), 2)
    assert "--strategy must be one of auto, one-device, mirrored, multi-worker" in err
    err = _one_line_error(run_cli("train", "--resume", str(runs_dir / "x"), "--strategy", "mirrored"), 2)
    assert "drop --strategy" in err
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


# --- slow: real training on a Reuters slice ---


@pytest.mark.slow
@needs_reuters
def test_mirrored_on_two_logical_cpus_trains_a_run_that_predicts(tmp_path):
    run = tmp_path / "mirrored"
    result = run_cli(
        "train",
        *SLICE,
        "--epochs",
        "1",
        "--strategy",
        "mirrored",
        "--out",
        str(run),
        env={"RNNCLI_CPU_DEVICES": "2", "RNNCLI_RUNS": str(tmp_path / "runs")},
        timeout=BOUND,
    )
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "Strategy: mirrored, 2 replicas on CPU:0, CPU:1; global batch 40 (20 per replica)" in out
    assert "Epoch 1/1" in out and "Saved run:" in out
    config = json.loads((run / "config.json").read_text())
    assert config["distribution"]["replicas"] == 2 and config["distribution"]["global_batch"] == 40
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    _predicts(run)


@pytest.mark.slow
@needs_reuters
def test_two_workers_train_one_epoch_and_only_the_chief_keeps_a_run(tmp_path):
    runs = tmp_path / "runs"
    deadline = time.monotonic() + BOUND
    args = ["train", *SLICE, "--epochs", "1", "--strategy", "multi-worker"]
    with cluster(args, runs, tmp_path, "one-epoch") as (chief, worker):
        assert chief.finish(deadline) == 0, chief.stderr
        assert worker.finish(deadline) == 0, worker.stderr
    assert "2 replicas over 2 workers; this is worker 0 (the chief" in chief.stdout
    assert "this is worker 1 (scratch only" in worker.stdout
    assert "Saved nothing: the chief of the cluster keeps the run" in worker.stdout
    run = _run_dir(chief)
    # Both logged the same cluster-wide metrics; only the chief kept anything.
    assert _epoch_metrics(chief, "Epoch 1/1") == _epoch_metrics(worker, "Epoch 1/1")
    assert not _run_dir(worker).exists()
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    assert sorted(p.name for p in run.iterdir()) == [
        "config.json",
        "history.json",
        "logs",  # the chief's TensorBoard scalars (the test extra installs tensorboard)
        "metrics.json",
        "model.keras",
        "model.tflite",
        "status.json",
        "vocab.json",
    ]
    assert (runs / "LATEST").read_text().strip() == str(run.resolve())
    assert [p for p in runs.iterdir() if p.is_dir()] == [run]  # no job pointers left behind
    _predicts(run)


@pytest.mark.slow
@needs_reuters
def test_a_worker_killed_mid_epoch_and_restarted_resumes_from_the_chiefs_backup(tmp_path):
    runs = tmp_path / "runs"
    deadline = time.monotonic() + BOUND
    args = ["train", *SLICE, "--epochs", "2", "--seed", "3", "--strategy", "multi-worker"]
    configs = _tf_configs(2)
    with cluster(args, runs, tmp_path, "first", configs) as (chief, worker):
        chief.wait_for("Epoch 1/2", deadline)  # epoch 1 backed up; the cluster is in epoch 2
        worker.process.kill()
        # The survivor notices the lost peer (a reset connection, or about 10 s of missing
        # heartbeats, depending on where the collective was) and stops with one line.
        assert chief.finish(deadline) == 1
    err = chief.stderr.strip()
    assert err.startswith("rnncli: error: worker 0: lost contact with the cluster after epoch 1")
    assert "start every worker again" in err and "\n" not in err
    assert "\n" not in err and "Traceback" not in err
    run = _run_dir(chief)
    assert json.loads((run / "backup" / "training_metadata.json").read_text())["epoch"] == 1
    assert json.loads((run / "status.json").read_text())["state"] == "interrupted"

    # The scheduler's part: start every worker again with the same command and TF_CONFIG.
    with cluster(args, runs, tmp_path, "again", configs) as (chief, worker):
        assert chief.finish(deadline) == 0, chief.stderr
        assert worker.finish(deadline) == 0, worker.stderr
    assert _run_dir(chief) == run
    for restarted in (chief, worker):  # the worker's scratch was new: it took the chief's state
        assert "Resuming after epoch 1/2 (best epoch 1" in restarted.stdout
        assert "Epoch 1/2 " not in restarted.stdout and "Epoch 2/2 " in restarted.stdout
    history = json.loads((run / "history.json").read_text())
    assert [entry["epoch"] for entry in history["epochs"]] == [1, 2]
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    assert not (run / "backup").exists() and not list(run.glob("best-*.keras"))
