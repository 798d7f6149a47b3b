"""The test session keeps to its temporary folders, and fails when a test does not.

The guard in tests/conftest.py is checked the only way that counts: real pytest sessions in
subprocesses (pytester) whose tests write into a stand-in for the user's runs root, cache and
working folder, each expected to fail and to name the test and the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import HANDOFF, REPO, SESSION_PREFIX


def test_state_points_into_the_sessions_own_folder():
    own = Path(os.environ["RNNCLI_RUNS"]).parent
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    # A pytest-xdist worker's folder sits in the controller's session folder, beside the cache.
    session = own.parent if worker else own
    assert session.name.startswith(SESSION_PREFIX) and own.is_dir()
    assert worker or session.name.startswith(f"{SESSION_PREFIX}{os.getpid()}-")
    assert Path(os.environ["RNNCLI_CACHE"]).parent == session
    for name in ("RNNCLI_RUNS", "KERAS_HOME", "HYPOTHESIS_STORAGE_DIRECTORY", "TMPDIR"):
        assert Path(os.environ[name]).parent == own, name
    from hypothesis import settings
    from keras.src.backend.config import keras_home

    assert Path(keras_home()).parent == own  # so Keras never writes ~/.keras/keras.json
    database = settings.default.database  # None under CI=true: Hypothesis' CI profile keeps none
    assert database is None or Path(database.path).is_relative_to(own)  # nor Hypothesis ./.hypothesis
    probe = [sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"]
    child_tmp = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(child_tmp).parent == own  # what a killed child leaves goes with the session


# The child session's tests. USER_* are the stand-ins for the user's own places.
CHILD = """
import os
from pathlib import Path

USER_RUNS = Path({runs!r})
USER_CACHE = Path({cache!r})


def test_a_clean(tmp_path, runs_dir):
    (tmp_path / "mine.txt").write_text("fine")
    runs_dir.mkdir()
    (runs_dir / "LATEST").write_text("fine")
    Path("session.txt").write_text(os.environ["RNNCLI_CACHE"])


def test_b_overwrites_the_users_latest():
    (USER_RUNS / "LATEST").write_text("/tmp/somewhere/run")


def test_c_fills_the_users_cache():
    (USER_CACHE / "prepared").mkdir()


def test_d_trains_without_runs_dir():
    from rnncli import runs

    runs.mark_latest(runs.create("toy"))


def test_e_changes_a_file_deep_in_the_users_runs():
    (USER_RUNS / "old-run" / "model.keras").write_bytes(b"overwritten")


def test_f_clean_last():
    pass
"""


def _child(pytester: pytest.Pytester, monkeypatch, source: str, *options: str) -> pytest.RunResult:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("TMPDIR", str(pytester.path / "tmp"))
    monkeypatch.delenv("RNNCLI_DATA", raising=False)
    # A session of its own even when this one is a pytest-xdist worker.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv(HANDOFF, raising=False)
    pytester.makepyfile(test_child=source)
    return pytester.runpytest_subprocess(
        "-p", "tests.conftest", "-p", "no:cacheprovider", *options, timeout=120
    )


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_session_fails_the_tests_that_touch_the_users_state(pytester, monkeypatch):
    user = pytester.path / "user"
    (user / "runs" / "old-run").mkdir(parents=True)
    (user / "runs" / "old-run" / "model.keras").write_bytes(b"the user's model")
    (user / "runs" / "LATEST").write_text(str(user / "runs" / "old-run"))
    (user / "cache").mkdir()
    for name, folder in {"RNNCLI_RUNS": "runs", "RNNCLI_CACHE": "cache", "KERAS_HOME": "keras"}.items():
        monkeypatch.setenv(name, str(user / folder))
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(user / "hypothesis"))
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    dead = _dead_pid()
    abandoned, recent = tmp / f"{SESSION_PREFIX}{dead}-abcd", tmp / f"{SESSION_PREFIX}{dead}-efgh"
    alive = tmp / f"{SESSION_PREFIX}{os.getpid()}-abcd"
    old_cache, new_cache = tmp / f"{SESSION_PREFIX}cache-old", tmp / f"{SESSION_PREFIX}cache-new"
    for folder in (abandoned, recent, alive, old_cache, new_cache):
        folder.mkdir()
    for folder in (abandoned, alive, old_cache):
        os.utime(folder, (time.time() - 2 * 86_400,) * 2)

    result = _child(pytester, monkeypatch, CHILD.format(runs=str(user / "runs"), cache=str(user / "cache")))

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=6, errors=4)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_b_overwrites_the_users_latest*",
            "test_child.py::test_b_overwrites_the_users_latest wrote outside its temporary folders:",
            "the user's own state changed*",
            f"  {user / 'runs' / 'LATEST'} (changed)",
            "*ERROR at teardown of test_c_fills_the_users_cache*",
            f"  {user / 'cache' / 'prepared'} (created)",
            "*ERROR at teardown of test_d_trains_without_runs_dir*",
            "it wrote into the default runs root*(use runs_dir):",
            "*default-runs/LATEST",
            "*ERROR at teardown of test_f_clean_last*",
            "the test session wrote outside its temporary folders:",
            f"  {user / 'runs' / 'old-run' / 'model.keras'} (changed)",
        ]
    )
    assert "test_a_clean wrote" not in result.stdout.str()
    assert "test_e_changes_a_file_deep_in_the_users_runs wrote" not in result.stdout.str()
    # The session's own folder is gone afterwards, and so are those of dead sessions.
    session = Path((pytester.path / "session.txt").read_text()).parent
    assert session.parent == tmp and not session.exists()
    assert sorted(p.name for p in tmp.iterdir()) == sorted([recent.name, alive.name, new_cache.name])


def test_the_workers_of_a_parallel_session_guard_the_users_places_too(pytester, monkeypatch):
    user = pytester.path / "user"
    (user / "runs" / "old-run").mkdir(parents=True)
    (user / "runs" / "old-run" / "model.keras").write_bytes(b"the user's model")
    (user / "cache").mkdir()
    for name, folder in {"RNNCLI_RUNS": "runs", "RNNCLI_CACHE": "cache", "KERAS_HOME": "keras"}.items():
        monkeypatch.setenv(name, str(user / folder))
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(user / "hypothesis"))
    (pytester.path / "tmp").mkdir()
    source = CHILD.format(runs=str(user / "runs"), cache=str(user / "cache"))

    result = _child(pytester, monkeypatch, source, "-n", "2", "--dist", "load")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    for name in ("test_b_overwrites_the_users_latest", "test_c_fills_the_users_cache"):
        assert f"test_child.py::{name} wrote outside its temporary folders" in out
    assert (
        f"{user / 'runs' / 'LATEST'} (created)" in out and f"{user / 'cache' / 'prepared'} (created)" in out
    )
    assert "test_child.py::test_d_trains_without_runs_dir wrote outside" in out
    assert "the test session wrote outside its temporary folders" in out
    assert f"{user / 'runs' / 'old-run' / 'model.keras'} (changed)" in out
    # The session's folder, with its workers' folders inside it, is gone.
    assert list((pytester.path / "tmp").iterdir()) == []


def test_the_users_runs_folder_in_the_working_folder_is_guarded_too(pytester, monkeypatch):
    monkeypatch.delenv("RNNCLI_RUNS")  # the user's runs root is then ./runs
    result = _child(
        pytester, monkeypatch, "from pathlib import Path\n\ndef test_x():\n    Path('runs').mkdir()\n"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["test_child.py::test_x wrote outside*", f"  {pytester.path / 'runs'} (created)"]
    )
