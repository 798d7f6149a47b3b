"""Faults end to end, through the real `rnncli` in subprocesses: concurrent runs, `kill -9`,
`--resume`, seeded determinism, and hostile input to predict.

One small Reuters slice is trained twice at once (the same seed) and once more killed after its
second epoch; the tests below share those three runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rnncli import runs
from tests.conftest import needs_reuters, run_cli

TRAIN = ["train", "reuters", "--limit", "200", "--epochs", "5", "--maxlen", "30", "--seed", "5", "--no-plot"]


def _one_line_error(result, code):
    assert result.returncode == code, result.stderr.decode()
    err = result.stderr.decode().strip()
    assert err.startswith("rnncli: error:") and "\n" not in err and "Traceback" not in err
    return err


def _popen(args, env):
    return subprocess.Popen(
        [sys.executable, "-m", "rnncli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )


def _epochs(run):
    return [
        {key: value for key, value in entry.items() if key != "seconds"}
        for entry in json.loads((run / "history.json").read_text())["epochs"]
    ]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("fault-runs")


@pytest.fixture(scope="module")
def twins(root):
    """Two identical seeded trainings started together under one runs root."""
    env = {"RNNCLI_RUNS": str(root)}
    processes = [_popen(TRAIN, env), _popen(TRAIN, env)]
    for process in processes:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()
    return sorted(p for p in root.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def killed(root, twins):
    """The same training, sent SIGKILL as soon as its second epoch is reported."""
    run = root / "killed"
    process = _popen([*TRAIN, "--out", str(run)], {"RNNCLI_RUNS": str(root)})
    deadline = time.time() + 300
    for line in process.stdout:
        if line.startswith(b"Epoch 2/") or time.time() > deadline:
            break
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    return run


@pytest.mark.slow
@needs_reuters
def test_two_concurrent_trains_keep_separate_runs_and_a_valid_latest(root, twins):
    assert len(twins) == 2 and twins[0] != twins[1]
    for run in twins:
        assert json.loads((run / "status.json").read_text())["state"] == "complete"
        assert json.loads((run / "config.json").read_text())["training"]["seed"] == 5
        assert not (run / "checkpoint.json").exists() and not list(run.glob("checkpoint-*"))
    assert (root / "LATEST").read_text().strip() in {str(run.resolve()) for run in twins}
    assert not list(root.rglob(".*.tmp")) and not list(root.rglob("*.tmp.keras"))


@pytest.mark.slow
@needs_reuters
def test_seeded_cpu_runs_have_identical_histories_and_predictions(twins):
    first, second = twins
    assert _epochs(first) == _epochs(second) and len(_epochs(first)) == 5
    metrics = [json.loads((run / "metrics.json").read_text()) for run in twins]
    assert metrics[0]["test_loss"] == metrics[1]["test_loss"]
    texts = b"oil prices rose\nwheat and corn exports\nshares of the bank fell\n\n"
    answers = [run_cli("predict", "--json", "--model", str(run), "-", input=texts) for run in twins]
    assert answers[0].returncode == 0, answers[0].stderr.decode()
    assert answers[0].stdout == answers[1].stdout and len(answers[0].stdout.splitlines()) == 4


@pytest.mark.slow
@needs_reuters
def test_kill_9_leaves_a_run_that_is_never_taken_for_finished(root, twins, killed):
    env = {"RNNCLI_RUNS": str(root)}
    assert json.loads((killed / "status.json").read_text())["state"] == "running"
    assert not (killed / "metrics.json").exists()
    assert json.loads((killed / "checkpoint.json").read_text())["epoch"] >= 2
    assert "not complete" in _one_line_error(run_cli("predict", "--model", str(killed), "oil"), 1)
    # predict and evaluate without --model both go through runs.latest(): the LATEST pointer,
    # else a scan of the runs root. Either way they answer with a finished twin's model.
    texts = b"oil prices rose\nwheat exports\n"
    expected = run_cli("predict", "--json", "--model", str(twins[0]), "-", input=texts).stdout
    for _ in range(2):
        answer = run_cli("predict", "--json", "-", input=texts, env=env)
        assert answer.returncode == 0 and answer.stdout == expected, answer.stderr.decode()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RNNCLI_RUNS", str(root))
            assert runs.latest().resolve() in {run.resolve() for run in twins}
        (root / "LATEST").unlink(missing_ok=True)


@pytest.mark.slow
@needs_reuters
def test_resume_after_kill_9_ends_where_the_uninterrupted_run_does(root, twins, killed):
    assert "drop --epochs" in _one_line_error(run_cli("train", "--resume", str(killed), "--epochs", "9"), 2)
    result = run_cli("train", "--resume", str(killed), "--no-plot", env={"RNNCLI_RUNS": str(root)})
    assert result.returncode == 0, result.stderr.decode()
    assert "Resuming after epoch" in result.stdout.decode()
    assert _epochs(killed) == _epochs(twins[0])
    assert (
        json.loads((killed / "metrics.json").read_text())["test_loss"]
        == json.loads((twins[0] / "metrics.json").read_text())["test_loss"]
    )
    assert json.loads((killed / "status.json").read_text())["state"] == "complete"
    assert not (killed / "checkpoint.json").exists() and not list(killed.glob("checkpoint-*"))
    assert "already complete" in _one_line_error(run_cli("train", "--resume", str(killed)), 1)


# What a hostile pipeline can send: control characters, NUL bytes, line separators that
# `str.splitlines` honours, right-to-left and combining marks, a 1 MB line, 100,000 empty lines.
HOSTILE = [
    "plain words",
    "nul\x00inside\x00",
    "\x1b[31mescape codes\x1b[0m \x07\x08\x7f",
    "line\u2028separator\u2029paragraph\x85next\x0bvertical\x0cfeed\x1cfile",
    "\u202eright-to-left override שלום مرحبا",
    "e\u0301\u0301\u0301 combining n\u0303 \U0001f600\U0001f1fa\U0001f1f8",
    "\ufeffbyte-order mark mid-stream",
    "good film " * 100_000,
    *([""] * 100_000),
    "last",
]


def test_predict_answers_hostile_input_one_line_each_and_the_same_for_the_same_line(tiny_run):
    data = "\n".join(HOSTILE).encode() + b"\n"
    plain = run_cli("predict", "--model", str(tiny_run), "-", input=data)
    assert plain.returncode == 0, plain.stderr.decode()
    assert plain.stdout.count(b"\n") == len(HOSTILE) and plain.stderr == b""
    records = run_cli("predict", "--json", "--model", str(tiny_run), "-", input=data)
    assert records.returncode == 0, records.stderr.decode()
    lines = records.stdout.decode().splitlines()
    assert [json.loads(line)["text"] for line in lines] == HOSTILE
    # The same input, the same answer: all 100,000 empty lines, and the JSON agrees with the TSV.
    answers = plain.stdout.decode().splitlines()
    assert len(set(answers[8 : 8 + 100_000])) == 1
    assert [json.loads(line)["label"] for line in lines] == [answer.split("\t")[0] for answer in answers]
