"""The real `rnncli` when its standard streams misbehave: readers that leave, streams closed at start.

`predict` stops quietly with status 0 when its reader goes away (`| head -1`); `train` finishes
its run whatever happens to its output; a closed stdin or stdout is one line, never a traceback.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest


def _rnncli(*args: str) -> list[str]:
    return [sys.executable, "-m", "rnncli", *args]


def _with_fd_closed(fd: int, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run rnncli as `rnncli ARGS <&-` (fd 0) or `>&-` (fd 1): the stream is closed, not empty."""
    closed = "<&-" if fd == 0 else ">&-"
    command = " ".join(shlex.quote(arg) for arg in _rnncli(*args)) + f" {closed}"
    return subprocess.run(["sh", "-c", command], capture_output=True, timeout=timeout)


def test_predict_stops_quietly_with_status_0_when_its_reader_leaves(tiny_run, tmp_path):
    # seq 200000 | rnncli predict --model RUN - | head -1
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("".join(f"{i}\n" for i in range(200_000)))
    for extra in ([], ["--json"]):
        with open(numbers, "rb") as stdin:
            process = subprocess.Popen(
                _rnncli("predict", "--model", str(tiny_run), *extra, "-"),
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            first = process.stdout.readline()
            process.stdout.close()
            err = process.stderr.read()
            process.wait(timeout=120)
        assert first.strip() and process.returncode == 0, (process.returncode, err.decode())
        assert err == b""


def test_closed_stdin_or_stdout_is_one_line_or_no_trouble_at_all(tiny_run):
    run = str(tiny_run)
    # Texts given as arguments do not need stdin at all.
    answered = _with_fd_closed(0, "predict", "--model", run, "good film")
    assert answered.returncode == 0 and answered.stdout.decode().startswith(("alpha", "beta", "gamma"))
    assert answered.stderr == b""
    for fd, args, code, words in [
        (0, ["predict", "--model", run, "-"], 1, "standard input is closed"),
        (0, ["predict", "--model", run], 2, "nothing to predict"),
        (1, ["predict", "--model", run, "good film"], 1, "standard output is closed"),
        (1, ["summary", "--arch", "lstm", "--dataset", "reuters"], 1, "standard output is closed"),
    ]:
        result = _with_fd_closed(fd, *args)
        err = result.stderr.decode().strip()
        assert result.returncode == code and err.startswith("rnncli: error:"), err
        assert words in err and "\n" not in err and "unexpected" not in err


def test_predict_file_is_closed_after_reading(tiny_run, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("good film\nbad film\n")
    result = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-m", "rnncli"]
        + ["predict", "--model", str(tiny_run), "--file", str(texts)],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 2, result.stderr.decode()
    assert b"ResourceWarning" not in result.stderr, result.stderr.decode()


@pytest.mark.slow
def test_training_finishes_its_run_when_stdout_reader_leaves(tiny_csv, runs_dir):
    # rnncli train ... | grep -m1 "Run directory"
    args = ["--epochs", "2", "--num-words", "100", "--maxlen", "20", "--embedding-dim", "8", "--units", "8"]
    process = subprocess.Popen(
        _rnncli("train", str(tiny_csv), *args, "--no-plot", "--seed", "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "RNNCLI_RUNS": str(runs_dir)},
    )
    for line in process.stdout:
        if line.startswith(b"Run directory"):
            break
    process.stdout.close()
    err = process.stderr.read()
    process.wait(timeout=300)
    assert process.returncode == 0 and err == b"", (process.returncode, err.decode())
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    assert len(json.loads((run / "history.json").read_text())["epochs"]) == 2
