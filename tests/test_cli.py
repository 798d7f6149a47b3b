"""End to end: the real `rnncli` in subprocesses, on small slices of the real corpora."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import needs_imdb, needs_reuters, run_cli


def _one_line_error(result, code):
    assert result.returncode == code, result.stderr.decode()
    err = result.stderr.decode().strip()
    assert err.startswith("rnncli: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_help_and_argument_errors_do_not_import_tensorflow():
    probe = (
        "import sys\nfrom rnncli.cli import main\nsys.argv = ['rnncli'] + sys.argv[1:]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print('TF' if 'tensorflow' in sys.modules else 'NO-TF', code, file=sys.stderr)\n"
    )
    for args in (["--help"], ["train", "--help"], ["train", "mnist"], ["train", "imdb", "--epochs", "x"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, timeout=60)
        assert result.stderr.decode().strip().endswith(("NO-TF 0", "NO-TF 2")), result.stderr


def test_usage_errors_are_one_line_with_exit_2():
    assert "imdb, reuters" in _one_line_error(run_cli("train", "mnist"), 2)
    assert "lstm, cnn-lstm" in _one_line_error(run_cli("train", "imdb", "--arch", "transformer"), 2)
    assert "num_words" in _one_line_error(run_cli("train", "reuters", "--num-words", "3"), 2)
    assert "--epochs" in _one_line_error(run_cli("train", "reuters", "--epochs", "many"), 2)
    bad_block = run_cli("train", "imdb", "--arch", "attention", "--attention", "bahdanau")
    assert "attention must be one of luong, pool" in _one_line_error(bad_block, 2)
    _one_line_error(run_cli("frobnicate"), 2)


def test_summary_prints_the_books_parameter_count():
    result = run_cli("summary", "--arch", "cnn-lstm", "--dataset", "imdb")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "558,520" in out and "conv1d" in out and "Conv1D" in out
    data = json.loads(run_cli("summary", "--arch", "lstm", "--dataset", "reuters", "--json").stdout)
    assert data["total_params"] == 185_046
    assert [layer["type"] for layer in data["layers"]] == ["Embedding", "LSTM", "Dense"]


@pytest.fixture(scope="module")
def reuters_run(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    env = {"RNNCLI_RUNS": str(runs_dir)}
    result = run_cli(
        "train",
        "reuters",
        "--limit",
        "400",
        "--epochs",
        "2",
        "--maxlen",
        "60",
        "--seed",
        "3",
        "--no-plot",
        env=env,
    )
    assert result.returncode == 0, result.stderr.decode()
    return runs_dir, env, result.stdout.decode()


@pytest.mark.slow
@needs_reuters
def test_train_prints_the_books_preamble_and_leaves_a_complete_run(reuters_run):
    runs_dir, _, out = reuters_run
    assert "46 categories" in out and "320 training texts" in out and "Test Accuracy: 0." in out
    assert "Epoch 2/2" in out
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert sorted(p.name for p in run.iterdir()) == [
        "config.json",
        "history.json",
        "logs",  # TensorBoard scalars (the test extra installs tensorboard)
        "metrics.json",
        "model.keras",
        "model.tflite",
        "status.json",
        "vocab.json",
    ]
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["num_words"] == 1000 and config["training"]["seed"] == 3
    assert len(config["label_names"]) == 46 and config["packages"]["tensorflow"]
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    assert len(json.loads((run / "history.json").read_text())["epochs"]) == 2


@pytest.mark.slow
@needs_reuters
def test_evaluate_reads_the_latest_run(reuters_run):
    _, env, out = reuters_run
    result = run_cli("evaluate", "--json", env=env)
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["count"] == 400 and len(report["classes"]) == 46
    assert {"test_loss", "test_accuracy", "macro_f1", "confusions"} <= report.keys()
    trained = float(out.split("Test Accuracy: ")[1].split()[0])
    assert report["test_accuracy"] == pytest.approx(trained, abs=1e-4)
    table = run_cli("evaluate", env=env).stdout.decode()
    assert "Macro-F1" in table and "earn" in table


@pytest.mark.slow
@needs_reuters
def test_predict_answers_arguments_stdin_and_json_in_order(reuters_run):
    _, env, _ = reuters_run
    result = run_cli("predict", "oil prices rose as opec cut output", "wheat exports", env=env)
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 0 and len(lines) == 2
    label, probability = lines[0].split("\t")
    assert label.replace("-", "").isalpha() and 0.0 < float(probability) <= 1.0

    texts = [f"text number {i} about oil and grain" for i in range(300)] + ["", "last one"]
    piped = run_cli("predict", "-", input="\n".join(texts).encode() + b"\n", env=env)
    assert piped.returncode == 0 and len(piped.stdout.decode().splitlines()) == len(texts)
    single = run_cli("predict", texts[-1], env=env).stdout.decode().splitlines()
    assert piped.stdout.decode().splitlines()[-1] == single[0]

    records = [
        json.loads(line)
        for line in run_cli("predict", "--json", "--top-k", "3", "a", "b", env=env).stdout.splitlines()
    ]
    assert [r["text"] for r in records] == ["a", "b"]
    assert len(records[0]["probabilities"]) == 46 and len(records[0]["top"]) == 3
    assert sum(records[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    # Plain lines (one write a batch) give each text's first-ranked label, as --json and
    # --top-k rank them.
    piped_json = run_cli("predict", "--json", "-", input="\n".join(texts).encode(), env=env)
    records = [json.loads(line) for line in piped_json.stdout.splitlines()]
    expected = [f"{r['label']}\t{r['probability']:.4f}" for r in records]
    assert piped.stdout.decode().splitlines() == expected
    top_two = run_cli("predict", "--top-k", "2", "-", input="\n".join(texts).encode(), env=env)
    assert [line.split("\t")[:2] for line in top_two.stdout.decode().splitlines()] == [
        line.split("\t") for line in expected
    ]


@pytest.mark.slow
@needs_reuters
def test_predict_errors_are_one_line(reuters_run, tmp_path):
    runs_dir, env, _ = reuters_run
    assert "is not valid UTF-8" in _one_line_error(
        run_cli("predict", "-", input=b"fine\n\xff\xfe\n", env=env), 1
    )
    assert "line 2" in _one_line_error(run_cli("predict", "-", input=b"fine\n\xff\xfe\n", env=env), 1)
    assert "empty" in _one_line_error(run_cli("predict", "-", input=b"", env=env), 1)
    # Lines before a bad one are still answered (across batch boundaries) before the error.
    partial = run_cli("predict", "-", input=b"oil\n" * 300 + b"\xff\n", env=env)
    assert "line 301" in _one_line_error(partial, 1)
    assert len(partial.stdout.decode().splitlines()) == 300
    assert "does not exist" in _one_line_error(run_cli("predict", "--model", str(tmp_path / "nope"), "x"), 1)
    empty_root = {"RNNCLI_RUNS": str(tmp_path / "empty")}
    assert "no completed run" in _one_line_error(run_cli("predict", "x", env=empty_root), 1)
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    damaged = tmp_path / "damaged"
    shutil.copytree(run, damaged)
    # predict reads model.tflite, evaluate and summary read model.keras: damage both.
    for name in ("model.keras", "model.tflite"):
        (damaged / name).write_bytes((damaged / name).read_bytes()[:500])
    assert "cannot load" in _one_line_error(run_cli("predict", "--model", str(damaged), "x", env=env), 1)
    assert "cannot load model" in _one_line_error(run_cli("evaluate", str(damaged), env=env), 1)


@pytest.mark.slow
@needs_imdb
def test_imdb_slice_trains_with_test_validation_and_predicts_a_sentiment(tmp_path):
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    result = run_cli(
        "train",
        "imdb",
        "--limit",
        "300",
        "--epochs",
        "1",
        "--maxlen",
        "40",
        "--val",
        "test",
        "--seed",
        "1",
        env=env,
    )
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "2 categories" in out and "also used for validation" in out and "Loss per epoch" in out
    answer = run_cli("predict", "great movie", env=env)
    label, probability = answer.stdout.decode().strip().split("\t")
    assert label in {"positive", "negative"} and 0.5 <= float(probability) <= 1.0


@pytest.mark.slow
@needs_imdb
def test_imdb_best_preset_trains_nbsvm_and_tells_praise_from_scorn(tmp_path):
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    args = ("--limit", "2000", "--maxlen", "400", "--buckets", "100000", "--epochs", "3", "--seed", "1")
    result = run_cli("train", "imdb", "--preset", "best", *args, env=env)
    assert result.returncode == 0, result.stderr.decode()
    config = json.loads(next((tmp_path / "runs").glob("*/config.json")).read_text())
    assert config["model"]["arch"] == "nbsvm" and config["model"]["ngrams"] == 3
    texts = ["a wonderful, moving film with superb acting", "a dull, boring mess and a waste of time"]
    answer = run_cli("predict", *texts, "--json", env=env)
    assert answer.returncode == 0, answer.stderr.decode()
    labels = [json.loads(line)["label"] for line in answer.stdout.decode().splitlines()]
    assert labels == ["positive", "negative"]
    explained = run_cli("predict", texts[1], "--explain", "--json", env=env)
    payload = json.loads(explained.stdout.decode())
    weights = dict(payload["weights"])
    assert payload["method"] == "occlusion" and max(weights, key=weights.get) in {
        "dull",
        "boring",
        "waste",
        "mess",
    }


@pytest.mark.slow
@needs_reuters
def test_ctrl_c_keeps_the_best_model_and_marks_the_run_interrupted(tmp_path):
    env = {**os.environ, "RNNCLI_RUNS": str(tmp_path / "runs")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rnncli",
            "train",
            "reuters",
            "--limit",
            "300",
            "--epochs",
            "500",
            "--patience",
            "500",
            "--maxlen",
            "40",
            "--seed",
            "2",
            "--out",
            str(tmp_path / "run"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        # A suite started in the background by a non-interactive shell inherits SIGINT ignored,
        # and Python then never turns it into KeyboardInterrupt: give the child a terminal's default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 240
    for line in process.stdout:
        if line.startswith(b"Epoch 2/") or time.time() > deadline:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err.decode()
    assert "best model so far" in err.decode() and str(tmp_path / "run") in err.decode()
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "interrupted" and status["best_epoch"] >= 1
    assert (tmp_path / "run" / "model.keras").is_file()
    assert run_cli("predict", "--model", str(tmp_path / "run"), "oil output").returncode == 0


@pytest.mark.slow
@needs_reuters
def test_val_none_trains_on_every_training_text_and_keeps_the_lowest_training_loss(tmp_path):
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    run = tmp_path / "refit"
    args = ("--limit", "600", "--arch", "fasttext", "--epochs", "3", "--seed", "1", "--no-plot")
    result = run_cli("train", "reuters", *args, "--val", "none", "--out", str(run), env=env)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "600 training texts" in out and "no validation texts (--val none" in out
    assert "val_loss" not in out
    config = json.loads((run / "config.json").read_text())
    assert config["counts"] == {"train": 600, "val": 0, "test": 600} and config["training"]["val"] == "none"
    history = json.loads((run / "history.json").read_text())
    losses = [entry["loss"] for entry in history["epochs"]]
    assert len(losses) == 3 and not any("val_loss" in entry for entry in history["epochs"])
    assert history["best_epoch"] == losses.index(min(losses)) + 1
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["validated_on"].startswith("none") and "int8" not in metrics
    assert not [path.name for path in run.iterdir() if "int8" in path.name]
    assert run_cli("evaluate", str(run), env=env).returncode == 0  # the recorded split sizes match
