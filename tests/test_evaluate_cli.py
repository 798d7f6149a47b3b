"""End to end: `rnncli evaluate` shows as well as tells, on a terminal; plain text when piped.

Two tiny runs are trained for real on generated CSV files, once: three classes (the whole
confusion matrix is drawn) and twelve (only the most confused classes are). Terminal output is
read from a real pseudo-terminal; the figures drawn are checked against `--json`'s.
"""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_runs_cli import TINY, one_line_error, plain, run_in_terminal

pytestmark = pytest.mark.slow

JSON_KEYS = {
    "run",
    "dataset",
    "corpus",
    "count",
    "test_loss",
    "test_accuracy",
    "macro_f1",
    "classes",
    "confusions",
}
BOX = ("┃", "│", "━", "─", "┏")


def _train(folder: Path, classes: int, rows: int) -> Path:
    """A run of a CSV whose classes share words with their neighbours, so the model confuses some."""
    rng = random.Random(classes)
    data = folder / f"topics{classes}.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for n in range(rows):
            k = n % classes
            words = [f"w{k}a", f"w{k}b", f"w{(k + 1) % classes}a"] + [
                f"n{rng.randrange(30)}" for _ in range(5)
            ]
            rng.shuffle(words)
            writer.writerow([" ".join(words), f"topic{k:02d}"])
    run = folder / "runs" / f"run{classes}"
    result = run_cli(
        "train", str(data), *TINY, "--units", "8", "--out", str(run), env={"RNNCLI_RUNS": str(run.parent)}
    )
    assert result.returncode == 0, result.stderr.decode()
    return run


@pytest.fixture(scope="module")
def three(tmp_path_factory) -> Path:
    return _train(tmp_path_factory.mktemp("three"), 3, 150)


@pytest.fixture(scope="module")
def twelve(tmp_path_factory) -> Path:
    return _train(tmp_path_factory.mktemp("twelve"), 12, 360)


def _json(run: Path) -> dict:
    result = run_cli("evaluate", str(run), "--json")
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def _heat_map(text: str, title: str) -> dict[str, list[int]]:
    """The heat map's rows below `title`: class name -> counts ('·' is 0)."""
    section = text.split(title, 1)[1].split("Most frequent confusions", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if line.lstrip().startswith("│") and len(cells) > 1:
            rows[cells[0]] = [0 if cell == "·" else int(cell) for cell in cells[1:]]
    return rows


def test_json_output_is_unchanged(three, runs_dir):
    report = _json(three)
    assert set(report) == JSON_KEYS
    assert {"name", "precision", "recall", "f1", "support"} == set(report["classes"][0])


def test_an_evaluated_run_lists_its_macro_f1(three, runs_dir):
    report = _json(three)
    metrics = json.loads((three / "metrics.json").read_text())
    assert metrics["macro_f1"] == report["macro_f1"]
    listed = run_cli("runs", "--json", env={"RNNCLI_RUNS": str(three.parent)})
    assert listed.returncode == 0, listed.stderr.decode()
    rows = {json.loads(line)["name"]: json.loads(line) for line in listed.stdout.decode().splitlines()}
    assert rows[three.name]["macro_f1"] == report["macro_f1"]


def test_piped_output_is_plain_text_with_tab_separated_rows(three, runs_dir):
    report = _json(three)
    result = run_cli("evaluate", str(three))
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "\x1b[" not in out and not any(mark in out for mark in BOX) and "F1 bar" not in out
    lines = out.splitlines()
    assert lines[0] == f"Run: {three}" and lines[2] == f"Test Accuracy: {report['test_accuracy']:.4f}"
    start = lines.index("class\tprecision\trecall\tF1\tsupport")
    for line, figures in zip(lines[start + 1 :], report["classes"]):
        name, precision, recall, f1, support = line.split("\t")
        assert (name, f1, int(support)) == (figures["name"], f"{figures['f1']:.3f}", figures["support"])
    if report["confusions"]:
        first = report["confusions"][0]
        assert f"{first['true']}\t{first['predicted']}\t{first['count']}" in lines


def test_a_terminal_shows_the_confusion_matrix_as_a_heat_map_and_f1_as_bars(three, runs_dir):
    report = _json(three)
    code, shown, err = run_in_terminal("evaluate", str(three))
    assert code == 0, err
    assert re.search(r"\x1b\[[0-9;]*48;5;[0-9]+", shown)  # shaded cells
    text = plain(shown)
    title = "Confusion matrix (rows: true class, columns: predicted)"
    matrix = _heat_map(text, title)
    names = [c["name"] for c in report["classes"]]
    assert list(matrix) == names
    for i, figures in enumerate(report["classes"]):
        row = matrix[figures["name"]]
        assert sum(row) == figures["support"]  # every test text of the class, somewhere in its row
        assert row[i] == round(figures["recall"] * figures["support"])
    for confusion in report["confusions"]:
        assert matrix[confusion["true"]][names.index(confusion["predicted"])] == confusion["count"]
    per_class = text.split("Per class", 1)[1].split(title, 1)[0]
    for figures in report["classes"]:
        line = next(line for line in per_class.splitlines() if line.startswith(f"│ {figures['name']} "))
        assert line.count("█") == round(figures["f1"] * 160) // 8  # 20 cells, in eighths


def test_many_classes_show_only_the_most_confused_and_no_color_keeps_the_counts(twelve, runs_dir):
    report = _json(twelve)
    code, shown, err = run_in_terminal("evaluate", str(twelve), env={"NO_COLOR": "1"})
    assert code == 0, err
    assert not re.search(r"\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-9])m", shown)  # no colour at all
    match = re.search(r"The (\d+) most confused of 12 classes \(rows: true, columns: predicted\)", shown)
    assert match and 2 <= int(match.group(1)) <= 8
    matrix = _heat_map(plain(shown), match.group(0))
    assert len(matrix) == int(match.group(1)) and all(len(row) == len(matrix) for row in matrix.values())
    largest = report["confusions"][0]
    shown_names = list(matrix)
    assert largest["true"] in matrix and largest["predicted"] in matrix
    assert matrix[largest["true"]][shown_names.index(largest["predicted"])] == largest["count"]
    assert "F1 bar" in shown


def test_no_plot_leaves_the_pictures_out_and_plot_draws_them_into_a_pipe(three, runs_dir):
    code, shown, err = run_in_terminal("evaluate", str(three), "--no-plot")
    assert code == 0, err
    assert "Per class" in shown and "F1 bar" not in shown and "Confusion matrix" not in shown
    forced = run_cli("evaluate", str(three), "--plot")
    assert forced.returncode == 0, forced.stderr.decode()
    out = forced.stdout.decode()
    assert "Confusion matrix" in out and "F1 bar" in out and "\x1b[" not in out


def _variant(run: Path, copy: Path, state: str, **config_changes) -> Path:
    shutil.copytree(run, copy)
    (copy / "status.json").write_text(json.dumps({"state": state, "updated": 1.0, "pid": 1, "host": "x"}))
    config = json.loads((copy / "config.json").read_text())
    for key, value in config_changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def test_evaluate_takes_interrupted_old_and_multi_worker_runs_and_refuses_killed_ones(three, runs_dir):
    runs_dir.mkdir()
    expected = _json(three)
    interrupted = _variant(three, runs_dir / "stopped", "interrupted")
    (interrupted / "metrics.json").unlink()
    old = _variant(
        three, runs_dir / "old", "complete", created=None, distribution=None, counts=None, packages=None
    )
    cluster = {"strategy": "multi-worker", "replicas": 2, "devices": ["/device:CPU:0"], "global_batch": 64}
    multi = _variant(
        three, runs_dir / "multi", "complete", distribution={**cluster, "workers": 2, "task": "worker 0"}
    )
    for run in (interrupted, old, multi):
        report = _json(run)
        assert report["test_accuracy"] == expected["test_accuracy"] and report["count"] == expected["count"]
    killed = _variant(three, runs_dir / "killed", "running")  # pid 1 on host 'x': only the free lock tells
    assert "not complete (state: running)" in one_line_error(run_cli("evaluate", str(killed)), 1)
