import json
import time

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
