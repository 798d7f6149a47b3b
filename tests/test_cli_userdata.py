"""End to end: training, evaluating and predicting on a user's own files through the real CLI."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import run_cli

POSITIVE = ["a wonderful, moving film", "great acting and a great story", "loved every minute"]
NEGATIVE = ["a dull, boring mess", "terrible acting, awful plot", "hated every minute"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reviews")
    path = folder / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "review", "sentiment"])
        for i in range(120):
            good = i % 2 == 0
            text = (POSITIVE if good else NEGATIVE)[i % 3]
            if i % 10 == 0:
                text += '\nsaid "the critic", 정말'
            writer.writerow([i, text, "thumbs-up" if good else "thumbs-down"])
    return folder, path


def test_csv_trains_evaluates_and_predicts_with_its_own_label_names(reviews):
    folder, path = reviews
    env = {"RNNCLI_RUNS": str(folder / "runs")}
    trained = run_cli(
        "train", str(path), "--text-col", "review", "--label-col", "sentiment",
        "--epochs", "2", "--seed", "0", "--no-plot", "--maxlen", "24", env=env,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr.decode()
    assert "2 categories" in trained.stdout.decode() and "Test Accuracy" in trained.stdout.decode()
    (run,) = [p for p in (folder / "runs").iterdir() if p.is_dir()]
    assert run.name.startswith("reviews-lstm-")
    config = json.loads((run / "config.json").read_text())
    assert config["label_names"] == ["thumbs-down", "thumbs-up"]
    assert config["source"]["text_col"] == "review"

    predicted = run_cli("predict", "loved the acting", "a boring mess", env=env)
    labels = [line.split("\t")[0] for line in predicted.stdout.decode().splitlines()]
    assert predicted.returncode == 0 and set(labels) <= {"thumbs-up", "thumbs-down"} and len(labels) == 2

    evaluated = run_cli("evaluate", "--json", env=env)
    assert evaluated.returncode == 0, evaluated.stderr.decode()
    report = json.loads(evaluated.stdout)
    assert report["count"] == 24 and [c["name"] for c in report["classes"]] == ["thumbs-down", "thumbs-up"]

    summary = run_cli("summary", "--run", str(run), "--json")
    assert json.loads(summary.stdout)["layers"][-1]["output_shape"] == "(None, 1)"


def test_jsonl_and_folder_inputs_train(tmp_path):
    jsonl = tmp_path / "topics.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps({"text": f"{t} news item {i}", "label": t}) + "\n"
            for i in range(20)
            for t in ("oil", "corn", "gold")
        )
    )
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    # Short maxlen: texts this short need no narrow LiteRT exports, each of which takes seconds.
    result = run_cli(
        "train", str(jsonl), "--epochs", "1", "--no-plot", "--seed", "0", "--maxlen", "24", env=env
    )
    assert result.returncode == 0 and "3 categories" in result.stdout.decode(), result.stderr.decode()
    records = [json.loads(x) for x in run_cli("predict", "--json", "gold news", env=env).stdout.splitlines()]
    assert set(records[0]["probabilities"]) == {"corn", "gold", "oil"}

    for label in ("good", "bad"):
        (tmp_path / "docs" / label).mkdir(parents=True)
        for i in range(10):
            (tmp_path / "docs" / label / f"{i}.txt").write_text(f"{label} text {i}")
    result = run_cli("train", str(tmp_path / "docs"), "--epochs", "1", "--no-plot", "--maxlen", "24", env=env)
    assert result.returncode == 0, result.stderr.decode()


@pytest.mark.parametrize(
    "content, args, message, code",
    [
        (b"review,sentiment\nx,y\n", [], "no text column 'text' (columns found: review, sentiment)", 1),
        (b'text,label\nok,a\n"open, b\n', [], "line 3: malformed CSV", 1),
        (b"text,label\nok,a\n\xff,b\n", [], "line 3: bytes that are not valid utf-8", 1),
        (b"text,label\nok,a\n", ["--test-split", "2"], "--test-split", 2),
        (b"text,label\nok,a\n", ["--encoding", "nope"], "unknown encoding", 2),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, content, args, message, code):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    result = run_cli("train", str(path), *args, env={"RNNCLI_RUNS": str(tmp_path / "runs")})
    err = result.stderr.decode().strip()
    assert result.returncode == code and err.startswith("rnncli: error:") and "\n" not in err, err
    assert message in err and (code == 2 or "data.csv" in err)


def test_missing_file_is_named(tmp_path):
    result = run_cli("train", str(tmp_path / "nope.csv"))
    assert result.returncode == 1 and "nope.csv: no such file" in result.stderr.decode()
