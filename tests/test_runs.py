import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from rnncli import runs
from rnncli.errors import RunError


def _complete(path, when=None):
    runs.write_json(path / runs.CONFIG, {"label_names": ["a", "b"], "model": {}, "dataset": "imdb"})
    (path / runs.MODEL).write_bytes(b"x")
    (path / runs.VOCAB).write_text("{}")
    runs.set_status(path, runs.COMPLETE)


def test_run_directories_never_collide(runs_dir):
    made = {runs.create("imdb-lstm") for _ in range(5)}
    assert len(made) == 5 and all(p.parent == runs_dir for p in made)


def test_latest_follows_the_pointer_and_ignores_incomplete_runs(runs_dir):
    old = runs.create("a")
    _complete(old)
    runs.mark_latest(old)
    newer = runs.create("b")
    runs.set_status(newer, runs.RUNNING)
    assert runs.latest() == old.resolve()
    (runs_dir / runs.LATEST).unlink()
    assert runs.latest() == old


def test_no_runs_is_a_clear_error(runs_dir):
    with pytest.raises(RunError, match="no completed run"):
        runs.latest()


def test_open_run_refuses_running_and_accepts_interrupted_with_model(runs_dir):
    path = runs.create("a")
    _complete(path)
    runs.set_status(path, runs.RUNNING)
    with pytest.raises(RunError, match="not complete"):
        runs.open_run(path)
    runs.set_status(path, runs.INTERRUPTED)
    assert runs.open_run(path).state == runs.INTERRUPTED


def test_open_run_reports_missing_parts(runs_dir):
    path = runs.create("a")
    _complete(path)
    (path / runs.VOCAB).unlink()
    with pytest.raises(RunError, match="no vocab.json"):
        runs.open_run(path)
    (path / runs.CONFIG).write_text("{broken")
    with pytest.raises(RunError, match="cannot read"):
        runs.open_run(path)


def test_status_is_json_with_a_timestamp(runs_dir):
    path = runs.create("a")
    before = time.time()
    runs.set_status(path, runs.RUNNING)
    payload = json.loads((path / runs.STATUS).read_text())
    assert payload["state"] == "running" and payload["updated"] >= before
    assert not list(path.glob(".*.tmp"))


def test_a_new_run_is_claimed_as_running_and_an_out_folder_only_once(runs_dir, tmp_path):
    auto = runs.create("a")
    assert runs.status(auto)["state"] == runs.RUNNING and runs.status(auto)["pid"] == os.getpid()
    out = tmp_path / "mine"
    assert runs.create("x", out) == out
    # A second process given the same --out loses the race and is told so.
    with pytest.raises(RunError, match="already exists and is not empty"):
        runs.create("x", out)
    (out / runs.STATUS).unlink()
    runs.write_json(out / runs.STATUS, {"state": "running"})  # taken between its check and claim
    assert not runs._claim(out)


def test_run_lock_is_exclusive_and_released(runs_dir):
    path = runs.create("a")
    with runs.RunLock(path), pytest.raises(RunError, match="in use by another rnncli process"):
        runs.RunLock(path)
    runs.RunLock(path).release()


def _create_many(root: str, count: int, queue) -> None:
    os.environ["RNNCLI_RUNS"] = root
    made = []
    for _ in range(count):
        run = runs.create("same-name")
        runs.mark_latest(run)
        made.append(str(run))
    queue.put(made)


def test_concurrent_processes_never_share_a_run_directory(runs_dir):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_create_many, args=(str(runs_dir), 20, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    made = [path for _ in workers for path in queue.get(timeout=60)]
    for worker in workers:
        worker.join()
    assert len(made) == 60 and len(set(made)) == 60
    assert (runs_dir / runs.LATEST).read_text().strip() in {str(Path(p).resolve()) for p in made}


def test_a_killed_run_is_never_the_latest(runs_dir):
    done = runs.create("done")
    _complete(done)
    runs.mark_latest(done)
    killed = runs.create("killed")  # what `kill -9` mid-epoch leaves: running, with a checkpoint
    _complete(killed)
    runs.set_status(killed, runs.RUNNING)
    runs.write_json(killed / runs.CHECKPOINT, {"epoch": 2})
    assert runs.latest() == done.resolve()
    (runs_dir / runs.LATEST).unlink()
    assert runs.latest() == done
    with pytest.raises(RunError, match="not complete .*--resume"):
        runs.open_run(killed)
