"""How a run ends when it does not end well, through the real CLI: never `complete` by mistake.

Each test trains a tiny model on a generated two-class CSV (seconds), in its own runs root.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

TINY = [
    "--epochs", "2", "--num-words", "100", "--maxlen", "20", "--embedding-dim", "8",
    "--units", "8", "--no-plot", "--seed", "1", "--arch", "lstm",
]  # fmt: skip
POSITIVE = ["good", "great", "fine", "lovely", "superb", "nice"]
NEGATIVE = ["bad", "awful", "poor", "dull", "boring", "weak"]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory) -> Path:
    """200 two-class texts."""
    rng = random.Random(3)
    path = tmp_path_factory.mktemp("outcomes") / "small.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(200):
            words = POSITIVE if i % 2 else NEGATIVE
            writer.writerow([" ".join(rng.choice(words) for _ in range(rng.randint(2, 10))), i % 2])
    return path


def _env(root: Path) -> dict:
    return {"RNNCLI_RUNS": str(root)}


def _one_line_error(result, code: int) -> str:
    err = result.stderr.decode().strip()
    assert result.returncode == code, err
    assert err.startswith("rnncli: error:") and "\n" not in err and "Traceback" not in err, err
    return err


def _state(run: Path) -> str:
    return json.loads((run / "status.json").read_text())["state"]


def test_an_empty_validation_split_is_refused_before_any_run_exists(small_csv, tmp_path):
    result = run_cli("train", str(small_csv), *TINY, "--val", "0.001", env=_env(tmp_path / "runs"))
    err = _one_line_error(result, 1)
    assert "no validation texts" in err and "--val" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("rate", ["inf", "1e38"])
def test_a_loss_that_never_becomes_finite_fails_the_run_and_keeps_latest(small_csv, tmp_path, rate):
    root = tmp_path / "runs"
    good = run_cli("train", str(small_csv), *TINY, "--out", str(tmp_path / "good"), env=_env(root))
    assert good.returncode == 0, good.stderr.decode()
    latest = (root / "LATEST").read_text()
    bad_run = tmp_path / "bad"
    bad = run_cli(
        "train", str(small_csv), *TINY, "--learning-rate", rate, "--out", str(bad_run), env=_env(root)
    )
    err = _one_line_error(bad, 1)
    assert "never reached a finite validation loss" in err
    assert b"Saved run" not in bad.stdout
    assert _state(bad_run) == "failed"
    assert not (bad_run / "metrics.json").exists()
    assert (root / "LATEST").read_text() == latest
    answer = run_cli("predict", "good great", env=_env(root))
    assert answer.returncode == 0, answer.stderr.decode()


def test_a_run_leaves_strict_json_metrics_and_tensorboard_scalars(small_csv, tmp_path):
    run = tmp_path / "run"
    result = run_cli("train", str(small_csv), *TINY, "--out", str(run), env=_env(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr.decode()
    text = (run / "metrics.json").read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    from rnncli.backend import tensorflow

    tf = tensorflow()
    tags: dict[str, set] = {}
    for part in ("train", "validation"):
        for events in (run / "logs" / part).glob("events.out.tfevents.*"):
            for event in tf.compat.v1.train.summary_iterator(str(events)):
                tags.setdefault(part, set()).update(value.tag for value in event.summary.value)
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= tags["train"], tags
    assert {"epoch_loss", "epoch_accuracy"} <= tags["validation"], tags


def test_resume_refuses_a_damaged_status_and_keeps_the_model(small_csv, tmp_path):
    run = tmp_path / "run"
    result = run_cli("train", str(small_csv), *TINY, "--out", str(run), env=_env(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr.decode()
    model = (run / "model.keras").read_bytes()
    status = (run / "status.json").read_bytes()
    (run / "status.json").write_bytes(status[: len(status) // 2])
    again = run_cli("train", "--resume", str(run), env=_env(tmp_path / "runs"))
    err = _one_line_error(again, 1)
    assert "status.json" in err
    assert (run / "model.keras").read_bytes() == model


def _popen(args, root: Path, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "rnncli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **_env(root)},
        **kwargs,
    )


def _wait_for_epoch(process, epoch: int) -> None:
    deadline = time.time() + 240
    for line in process.stdout:
        if line.startswith(f"Epoch {epoch}/".encode()) or time.time() > deadline:
            return


LONG = [*TINY[2:], "--epochs", "500", "--patience", "500"]


def test_sigterm_marks_the_run_interrupted_and_says_how_to_resume(small_csv, tmp_path):
    run = tmp_path / "run"
    process = _popen(["train", str(small_csv), *LONG, "--out", str(run)], tmp_path / "runs")
    _wait_for_epoch(process, 2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err.decode()
    text = err.decode().strip()
    assert text.startswith("rnncli: error: terminated") and f"--resume {run}" in text, text
    assert _state(run) == "interrupted"
    assert (run / "model.keras").is_file()


def test_a_sigint_the_parent_ignored_stays_ignored(small_csv, tmp_path):
    run = tmp_path / "run"

    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    args = ["train", str(small_csv), *TINY[2:], "--epochs", "4", "--out", str(run)]
    process = _popen(args, tmp_path / "runs", preexec_fn=ignore_sigint)
    _wait_for_epoch(process, 2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=240)
    assert process.returncode == 0, err.decode()
    assert _state(run) == "complete"


def test_a_full_disk_interrupts_the_run_naming_the_path_and_resume_finishes_it(small_csv, tmp_path):
    run = tmp_path / "run"

    def small_files():
        # Writes past the limit fail with EFBIG, as on a full disk, instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (24_000, 24_000))

    process = _popen(
        ["train", str(small_csv), *TINY, "--out", str(run)], tmp_path / "runs", preexec_fn=small_files
    )
    _, err = process.communicate(timeout=240)
    text = err.decode().strip()
    assert process.returncode == 1, text
    assert text.startswith("rnncli: error:") and "\n" not in text and "Traceback" not in text, text
    assert "while writing" in text and str(run) in text and "--resume" in text, text
    assert _state(run) == "interrupted"
    again = run_cli("train", "--resume", str(run), "--no-plot", env=_env(tmp_path / "runs"))
    assert again.returncode == 0, again.stderr.decode()
    assert _state(run) == "complete"


def test_a_vocabulary_too_large_for_memory_is_a_usage_error_before_any_run(small_csv, tmp_path):
    args = ["train", str(small_csv), *TINY, "--num-words", "2000000000"]
    err = _one_line_error(run_cli(*args, env=_env(tmp_path / "runs")), 2)
    assert "--num-words" in err and "GiB available" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


class _CtrlCAtTest:
    """Presses Ctrl-C as the test pass begins: after the last epoch, before `complete`."""

    def __getattr__(self, name):
        return lambda *args: None

    def on_evaluate_begin(self) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_after_the_last_epoch_marks_the_run_interrupted_and_resume_finishes_it(
    small_csv, tmp_path, runs_dir
):
    from rnncli import settings
    from rnncli.errors import TrainingInterrupted
    from rnncli.training import resume, train

    run = tmp_path / "run"
    resolved = settings.resolve(
        str(small_csv),
        arch="lstm",
        epochs=2,
        num_words=100,
        maxlen=20,
        embedding_dim=8,
        units=8,
        seed=1,
        out=run,
    )
    with pytest.raises(TrainingInterrupted, match="while testing") as caught:
        train(resolved, _CtrlCAtTest())
    assert f"--resume {run}" in str(caught.value)
    assert _state(run) == "interrupted"
    assert not (runs_dir / "LATEST").exists()
    result = resume(run)
    assert _state(run) == "complete" and result.test_accuracy == result.test_accuracy
    assert (runs_dir / "LATEST").read_text().strip() == str(run.resolve())
