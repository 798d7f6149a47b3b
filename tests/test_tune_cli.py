"""`rnncli tune` end to end through the real CLI on slices of Reuters: a tiny search that ends in
a tested run and a preset file `train` reuses, `kill -9` then the same command, two processes on
one study, and bad input refused before anything trains."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import needs_reuters, run_cli

#: A search small enough for the suite: 300 wires per split, n-gram models, one or two epochs.
TINY = ("--limit", "300", "--arch", "fasttext", "--no-plot", "--fix", "buckets=20000")


def _trials(folder):
    path = folder / "trials.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _finished(trials):
    return [t for t in trials if t["state"] in ("complete", "pruned")]


@pytest.mark.slow
@needs_reuters
def test_a_tiny_search_leaves_a_study_a_preset_file_and_a_run_tested_once(runs_dir):
    args = ("tune", "reuters", "--limit", "300", "--arch", "fasttext,nbsvm", "--trials", "3", "--epochs", "2")
    done = run_cli(*args, "--seed", "3", "--no-plot", "--tokenizer", "words", "--fix", "buckets=20000")
    assert done.returncode == 0, done.stderr.decode()
    study = runs_dir / "tune-reuters"
    trials = _trials(study)
    assert [t["trial"] for t in trials] == [0, 1, 2] and len(_finished(trials)) == 3
    assert all(t["settings"]["arch"] in ("fasttext", "nbsvm") and t["val_loss"] > 0 for t in trials)
    assert "Best validation loss" in (study / "chart.txt").read_text()
    best = min((t for t in trials if t["state"] == "complete"), key=lambda t: t["val_loss"])
    preset = json.loads((study / "best.json").read_text())["settings"]
    assert preset == {"epochs": 2, "patience": 5, "val": "0.2", **best["settings"]}
    assert best["settings"]["buckets"] == 20000  # fixed, not searched
    record = json.loads((study / "study.json").read_text())
    assert record["best_trial"] == best["trial"] and record["seed"] == 3
    run = runs_dir / f"tune-reuters-trial{best['trial']}"
    assert record["best_run"] == str(run)
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    assert config["training"]["seed"] == 3 and config["model"]["arch"] == best["settings"]["arch"]
    listed = run_cli("runs", "--json")
    names = [json.loads(line)["name"] for line in listed.stdout.decode().splitlines()]
    assert names == [run.name]  # the study folder is not a run, its best run is listed

    # The preset file round-trips: `train --preset-file` with the study's seed is the same run.
    retrained = run_cli(
        "train",
        "reuters",
        "--preset-file",
        str(study / "best.json"),
        "--limit",
        "300",
        "--seed",
        "3",
        "--no-plot",
        "--out",
        str(runs_dir / "again"),
    )
    assert retrained.returncode == 0, retrained.stderr.decode()
    same = json.loads((runs_dir / "again" / "config.json").read_text())
    assert same["model"] == config["model"]
    assert json.loads((runs_dir / "again" / "metrics.json").read_text())["test_accuracy"] == pytest.approx(
        metrics["test_accuracy"], abs=1e-6
    )

    # The same study with other data is one line, exit 2, and the study is left as it was.
    other = run_cli(
        "tune",
        "reuters",
        "--limit",
        "400",
        "--arch",
        "fasttext,nbsvm",
        "--epochs",
        "2",
        "--trials",
        "4",
        "--tokenizer",
        "words",
        "--fix",
        "buckets=20000",
    )
    assert other.returncode == 2
    assert "was made with other data or another search space (differs in: limit)" in other.stderr.decode()
    assert len(_trials(study)) == 3


@pytest.mark.slow
@needs_reuters
def test_kill_9_then_the_same_command_continues_without_repeating_trials(runs_dir):
    args = [
        sys.executable,
        "-m",
        "rnncli",
        "tune",
        "reuters",
        *TINY,
        "--trials",
        "5",
        "--epochs",
        "2",
        "--no-train",
        "--seed",
        "5",
        "--tokenizer",
        "words",
    ]
    study = runs_dir / "tune-reuters"
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ)
    )
    try:
        deadline = time.monotonic() + 240
        while len(_finished(_trials(study))) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        before = {t["trial"]: t for t in _finished(_trials(study))}
        assert len(before) >= 2 and process.poll() is None
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    done = run_cli(*args[3:])
    assert done.returncode == 0, done.stderr.decode()
    after = _trials(study)
    finished = _finished(after)
    assert len(finished) == 5  # the trials finished before the kill counted: none was run again
    for number, trial in before.items():
        assert after[number] == trial  # kept as they were
    killed = [t for t in after if t["state"] == "failed"]
    assert len(killed) <= 1 and all("killed" in t["note"] for t in killed)
    if killed:
        said = f"Trial {killed[0]['trial']} was left running by a process that ended: marked failed"
        assert said in done.stdout.decode()


@pytest.mark.slow
@needs_reuters
def test_two_processes_share_one_study(runs_dir, tmp_path):
    journal = tmp_path / "shared.journal"
    args = [
        sys.executable,
        "-m",
        "rnncli",
        "tune",
        "reuters",
        *TINY,
        "--trials",
        "6",
        "--epochs",
        "1",
        "--no-train",
        "--study",
        "pair",
        "--storage",
        str(journal),
        "--seed",
        "2",
        "--tokenizer",
        "words",
    ]
    processes = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [process.communicate(timeout=400) for process in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err.decode()
    trials = _trials(runs_dir / "tune-pair")
    assert [t["trial"] for t in trials] == list(range(len(trials)))
    assert 6 <= len(_finished(trials)) <= 7  # at most one trial more, from a start in the same instant
    workers = {t["worker"] for t in trials}
    assert workers == {f"{socket.gethostname()}:{p.pid}" for p in processes}


@pytest.mark.parametrize(
    "options, message",
    [
        (("--trials", "0"), "--trials must be at least 1"),
        (("--budget", "10s"), "cannot hold one trial"),
        (("--budget", "30"), "--budget must be a duration"),
        (("--arch", "lstm,nope"), "unknown architecture 'nope'"),
        (("--arch", ","), "search space is empty"),
        (("--val", "test"), "--val test would choose settings by the test set"),
        (("--val", "none"), "--val none leaves nothing to compare trials on"),
        (("--limit", "1"), "--limit must be at least 2"),
        (("--storage", "mysql://u@127.0.0.1/db"), "database driver is not installed"),
        (("--fix", "seed=3"), "--fix takes NAME=VALUE"),
        (("--fix", "buckets=many"), "--fix buckets needs an integer"),
        (("--fix", "pooling=max"), "pooling"),
    ],
)
def test_bad_input_is_a_usage_error_before_anything_trains(runs_dir, options, message):
    done = run_cli("tune", "reuters", *options)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_a_storage_that_cannot_be_opened_exits_1_in_one_line(runs_dir):
    done = run_cli("tune", "reuters", "--trials", "1", "--storage", "sqlite:////proc/no/such/dir/t.db")
    err = done.stderr.decode()
    assert done.returncode == 1 and "cannot open --storage" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
@needs_reuters
def test_failed_trials_are_recorded_and_the_search_goes_on_until_five_in_a_row(runs_dir):
    """A loss that is never finite fails each trial; after five in a row the search stops."""
    done = run_cli("tune", "reuters", *TINY, "--fix", "learning_rate=1e38", "--trials", "3", "--epochs", "1",
                   "--tokenizer", "words", "--seed", "1")  # fmt: skip
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert "5 trials in a row failed; the last: no epoch reached a finite validation loss" in err
    trials = _trials(runs_dir / "tune-reuters")
    assert [t["state"] for t in trials] == ["failed"] * 5
    assert all(t["note"] == "no epoch reached a finite validation loss" for t in trials)
    assert not (runs_dir / "tune-reuters" / "best.json").exists()


@pytest.mark.slow
@needs_reuters
def test_sigterm_stops_the_search_with_its_files_up_to_date_and_no_trial_left_running(runs_dir):
    args = [sys.executable, "-m", "rnncli", "tune", "reuters", *TINY, "--trials", "50", "--epochs", "3",
            "--no-train", "--seed", "4", "--tokenizer", "words"]  # fmt: skip
    study = runs_dir / "tune-reuters"
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not _finished(_trials(study)) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err.decode()
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "terminated: any trial in progress is recorded failed" in lines[0]
    assert "the same command continues the study" in lines[0]
    trials = _trials(study)
    assert trials and all(t["state"] in ("complete", "pruned", "failed") for t in trials)
    assert all(t["note"] == "interrupted" for t in trials if t["state"] == "failed")
