"""End to end: `rnncli runs` (list, show, compare, rm, prune) on the runs a user actually has.

Two tiny runs are trained for real, once; each test copies them into its own runs root and adds,
by hand, what a user's root also holds: an interrupted run, a killed one (left `running` by a
process that is gone), a failed one, one from an older rnncli (config without some keys), a
multi-worker one, damaged ones, and entries that are no runs at all. Terminal output is checked
on a real pseudo-terminal; a live run is held by a real process holding the run's lock.
"""

from __future__ import annotations

import csv
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # trains two tiny runs through the CLI

TINY = ("--epochs", "2", "--num-words", "100", "--maxlen", "20", "--embedding-dim", "8")
TINY += ("--no-plot", "--seed", "1", "--arch", "lstm", "--no-mask")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(*args: str, env: dict | None = None, answer: bytes | None = None, columns: int = 150):
    """Run the CLI with stdin and stdout on a pseudo-terminal, as an interactive shell does.

    Returns (exit status, what the terminal showed with line ends as '\\n', stderr). `answer` is
    typed at the terminal (for a confirmation); NO_COLOR is dropped unless `env` sets it.
    """
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, columns, 0, 0))
    full = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full.update({"TERM": "xterm-256color", "COLUMNS": str(columns), **(env or {})})
    process = subprocess.Popen(
        [sys.executable, "-m", "rnncli", *args], stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=full
    )
    os.close(slave)
    if answer is not None:
        os.write(master, answer)
    chunks, deadline = [], time.time() + 300
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = process.wait(timeout=60)
    err = process.stderr.read().decode()
    process.stderr.close()
    return code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n"), err


def plain(text: str) -> str:
    return _ANSI.sub("", text)


def one_line_error(result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr.decode())
    err = result.stderr.decode().strip()
    assert err.startswith("rnncli: error:") and "\n" not in err and "Traceback" not in err, err
    return err


def tsv(result) -> list[dict]:
    assert result.returncode == 0, result.stderr.decode()
    header, *lines = result.stdout.decode().splitlines()
    return [dict(zip(header.split("\t"), line.split("\t"))) for line in lines]


# --- the runs a user has ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """Two complete runs of a small CSV, trained for real: `small` (units 8), then `wide` (12)."""
    folder = tmp_path_factory.mktemp("trained")
    data = folder / "texts.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(120):
            label = ("good", "bad", "meh")[i % 3]
            writer.writerow([f"{label} film number {i % 7} {label} story", label])
    env = {"RNNCLI_RUNS": str(folder / "runs")}
    for name, extra in (("small", ("--units", "8")), ("wide", ("--units", "12", "--epochs", "3"))):
        result = run_cli("train", str(data), *TINY, *extra, "--out", str(folder / "runs" / name), env=env)
        assert result.returncode == 0, result.stderr.decode()
    return folder / "runs"


def _edit(path: Path, **changes) -> None:
    payload = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    path.write_text(json.dumps(payload))


def _status(run: Path, state: str, updated: float, **extra) -> None:
    (run / "status.json").write_text(json.dumps({"state": state, "updated": updated, **extra}))


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def root(runs_dir, trained) -> Path:
    """A runs root holding every kind of entry `rnncli runs` must list (see the module docstring)."""
    runs_dir.mkdir()
    for name in ("small", "wide"):
        shutil.copytree(trained / name, runs_dir / name)
    now = time.time()
    _status(runs_dir / "small", "complete", now - 500, best_epoch=2)
    _status(runs_dir / "wide", "complete", now - 100, best_epoch=3)
    (runs_dir / "LATEST").write_text(str((runs_dir / "wide").resolve()) + "\n")
    for name in ("stopped", "killed", "broke"):
        shutil.copytree(trained / "small", runs_dir / name)
        (runs_dir / name / "metrics.json").unlink()
    _status(runs_dir / "stopped", "interrupted", now - 400, best_epoch=1)
    _edit(runs_dir / "stopped" / "config.json", tokenizer={"name": "chars"})  # as saved by rnncli
    config = json.loads((runs_dir / "broke" / "config.json").read_text())
    _edit(
        runs_dir / "broke" / "config.json",
        tokenizer=None,
        training={**config["training"], "tokenizer": "subword"},
    )
    _status(runs_dir / "killed", "running", now - 300, pid=_dead_pid(), host=os.uname().nodename)
    _status(runs_dir / "broke", "failed", now - 200, best_epoch=0)
    history = json.loads((runs_dir / "broke" / "history.json").read_text())
    history["epochs"][-1].update(loss=float("nan"), val_loss=float("nan"))  # as a diverging run records
    (runs_dir / "broke" / "history.json").write_text(json.dumps(history))
    shutil.copytree(trained / "small", runs_dir / "old")
    _edit(runs_dir / "old" / "config.json", created=None, distribution=None, counts=None, packages=None)
    _edit(runs_dir / "old" / "metrics.json", test_accuracy=0.01)
    _status(runs_dir / "old", "complete", now - 600)
    shutil.copytree(trained / "wide", runs_dir / "cluster")
    distribution = {"strategy": "multi-worker", "replicas": 2, "devices": ["/device:CPU:0"]}
    distribution.update(global_batch=64, workers=2, task="worker 0", job="abc123")
    _edit(runs_dir / "cluster" / "config.json", distribution=distribution)
    _status(runs_dir / "cluster", "complete", now - 700, best_epoch=3)
    (runs_dir / "garbled").mkdir()
    (runs_dir / "garbled" / "status.json").write_text('{"state": "comp')
    shutil.copytree(trained / "small", runs_dir / "badconfig")
    (runs_dir / "badconfig" / "config.json").write_text("{broken")
    (runs_dir / "photos").mkdir()
    (runs_dir / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    (runs_dir / "notes.txt").write_text("my notes\n")
    (runs_dir / ".jobs").mkdir()
    (runs_dir / ".jobs" / "abc123").write_text(str((runs_dir / "cluster").resolve()) + "\n")
    return runs_dir


EXPECTED = {
    "small": "complete",
    "wide": "complete",
    "stopped": "interrupted",
    "killed": "killed",
    "broke": "failed",
    "old": "complete",
    "cluster": "complete",
    "garbled": "damaged",
    "badconfig": "damaged",
    "photos": "not a run",
    "notes.txt": "not a run",
}


# --- rnncli runs -----------------------------------------------------------------------------


def test_list_piped_is_tsv_with_every_kind_of_entry_and_the_latest_marked(root, trained):
    rows = {row["name"]: row for row in tsv(run_cli("runs"))}
    assert {name: row["status"] for name, row in rows.items()} == EXPECTED  # `.jobs` and LATEST skipped
    assert [name for name, row in rows.items() if row["latest"] == "LATEST"] == ["wide"]
    metrics = json.loads((trained / "wide" / "metrics.json").read_text())
    wide = rows["wide"]
    assert wide["accuracy"] == f"{metrics['test_accuracy']:.4f}" and wide["best"] == "3/3"
    saved = json.loads((trained / "wide" / "config.json").read_text()).get("tokenizer", {}).get("name", "-")
    assert wide["dataset"] == "texts" and wide["arch"] == "lstm" and wide["tokenizer"] == saved
    assert rows["stopped"]["tokenizer"] == "chars" and rows["broke"]["tokenizer"] == "subword"
    assert wide["macro-F1"] == "-" and float(wide["min"]) == pytest.approx(
        metrics["train_seconds"] / 60, abs=0.01
    )
    assert wide["created"][:4].isdigit() and rows["old"]["created"] == "-"  # older runs have no 'created'
    assert rows["stopped"]["accuracy"] == "-" and rows["stopped"]["best"] == "2/2"  # from history.json
    assert rows["killed"]["min"] != "-" and rows["broke"]["best"] == "2/2"
    # Default order: newest first; entries that are no runs last.
    assert list(rows)[-2:] in (["notes.txt", "photos"], ["photos", "notes.txt"])


def test_list_json_filters_and_sorts(root):
    def names(*args):
        result = run_cli("runs", "--json", *args)
        assert result.returncode == 0, result.stderr.decode()
        return [json.loads(line)["name"] for line in result.stdout.decode().splitlines()]

    records = [json.loads(line) for line in run_cli("runs", "--json").stdout.decode().splitlines()]
    by_name = {record["name"]: record for record in records}
    assert by_name["cluster"]["workers"] == 2 and by_name["wide"]["latest"] is True
    assert "status.json" in by_name["garbled"]["problem"] and "config.json" in by_name["badconfig"]["problem"]
    assert by_name["old"]["created"] is None and by_name["wide"]["macro_f1"] is None
    assert names("--status", "killed") == ["killed"]
    assert sorted(names("--status", "damaged", "--status", "failed")) == ["badconfig", "broke", "garbled"]
    assert set(names("--dataset", "texts")) == {
        "small",
        "wide",
        "stopped",
        "killed",
        "broke",
        "old",
        "cluster",
    }
    assert names("--arch", "gru") == []
    for order in ((), ("--reverse",)):
        ranked = names("--sort", "accuracy", *order)  # best first (--reverse: worst); unknown last
        values = [by_name[name]["test_accuracy"] for name in ranked]
        known = [value for value in values if value is not None]
        # small, wide, old, cluster, and badconfig (its config is damaged, its metrics.json is not)
        assert known == sorted(known, reverse=not order) and len(known) == 5 and values[5:] == [None] * 6
        assert ranked[0 if order else 4] == "old"  # its metrics.json says 0.01
    assert names("--sort", "name")[:3] == ["badconfig", "broke", "cluster"]
    assert names("--sort", "name", "--reverse")[0] == "wide"
    assert "--sort must be one of" in one_line_error(run_cli("runs", "--sort", "speed"), 2)
    assert "--status must be one of" in one_line_error(run_cli("runs", "--status", "done"), 2)


def test_list_on_a_terminal_is_a_coloured_table_and_honours_no_color(root):
    code, shown, err = run_in_terminal("runs")
    assert code == 0 and not err, err
    text = plain(shown)
    assert "┃" in text and "LATEST" in text and "tokenizer" in text
    assert re.search(r"wide\s+LATEST", text) and "\x1b[32mcomplete" in shown
    assert "garbled: " in text  # what is wrong with a damaged run, under the table
    code, shown, _ = run_in_terminal("runs", env={"NO_COLOR": "1"})
    assert code == 0 and "complete" in shown and not re.search(r"\x1b\[[0-9;]*3[0-9]m", shown)


def test_a_run_held_by_a_live_process_is_running_then_killed_once_it_dies(root):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom rnncli import runs\nlock = runs.RunLock(sys.argv[1])\n"
         "print('held', flush=True)\nsys.stdin.read()", str(root / "killed")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == b"held\n"
        assert {r["name"]: r["status"] for r in tsv(run_cli("runs"))}["killed"] == "running"
        # Never removed while its process lives, whatever the rule or the name says.
        err = one_line_error(run_cli("runs", "rm", "killed", "--yes"), 1)
        assert "in use" in err and (root / "killed" / "config.json").is_file()
        prune = run_cli("runs", "prune", "--status", "killed", "--yes")
        assert prune.returncode == 0 and (root / "killed").is_dir()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert {r["name"]: r["status"] for r in tsv(run_cli("runs"))}["killed"] == "killed"
    shown = run_cli("runs", "show", "killed").stdout.decode()
    assert f"'rnncli train --resume {root / 'killed'}' continues it" in shown


def test_an_empty_or_missing_runs_root_lists_nothing_and_says_so(runs_dir):
    result = run_cli("runs")
    assert result.returncode == 0 and result.stdout == b""
    assert "no runs under" in result.stderr.decode()
    assert run_cli("runs", "--json").stdout == b""


# --- show and compare ------------------------------------------------------------------------


def _pairs(result) -> dict[str, str]:
    assert result.returncode == 0, result.stderr.decode()
    return dict(line.split("\t", 1) for line in result.stdout.decode().splitlines())


def test_show_gives_settings_metrics_and_the_loss_chart(root, trained):
    latest = _pairs(run_cli("runs", "show"))  # no name: the latest complete run
    assert latest["name"] == "wide" and latest["status"] == "complete  LATEST" and latest["units"] == "12"
    assert latest["best epoch"] == "3 of 3" and latest["macro-F1"] == "-"
    assert "Loss per epoch" not in run_cli("runs", "show").stdout.decode()  # piped: no chart by default
    record = json.loads(run_cli("runs", "show", "small", "--json").stdout)
    history = json.loads((trained / "small" / "history.json").read_text())["epochs"]
    assert record["history"] == history and record["settings"]["units"] == 8
    assert record["metrics"]["test_accuracy"] == record["test_accuracy"]
    code, shown, err = run_in_terminal("runs", "show", "small")
    assert code == 0 and not err, err
    text = plain(shown)
    assert "Loss per epoch" in text and "Settings" in text and "val_loss" in text and "embedding_dim" in text
    assert "Loss per epoch" not in run_cli("runs", "show", "small", "--no-plot").stdout.decode()
    assert "Loss per epoch" in run_cli("runs", "show", "small", "--plot").stdout.decode()


def test_show_works_on_old_multi_worker_failed_and_damaged_runs(root):
    assert _pairs(run_cli("runs", "show", "old"))["created"] == "-"
    cluster = _pairs(run_cli("runs", "show", str(root / "cluster")))  # by path as well as by name
    assert cluster["distribution.workers"] == "2" and cluster["distribution.strategy"] == "multi-worker"
    assert _pairs(run_cli("runs", "show", "broke"))["status"] == "failed"
    diverged = run_cli("runs", "show", "broke", "--json")
    assert b"NaN" not in diverged.stdout and "val_loss" not in json.loads(diverged.stdout)["history"][-1]
    assert "Loss per epoch" in run_cli("runs", "show", "broke", "--plot").stdout.decode()
    garbled = _pairs(run_cli("runs", "show", "garbled"))
    assert garbled["status"].startswith("damaged (") and "status.json" in garbled["status"]
    assert "not an rnncli run" in one_line_error(run_cli("runs", "show", "photos"), 1)
    assert "no run 'nope'" in one_line_error(run_cli("runs", "show", "nope"), 1)


def test_compare_shows_what_differs_the_metrics_and_all_validation_curves(root, trained):
    result = run_cli("runs", "compare", "small", "wide")
    assert result.returncode == 0, result.stderr.decode()
    settings, metrics = result.stdout.decode().split("\n\n")
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in settings.splitlines()}
    assert (
        rows["setting"] == ["small", "wide"] and rows["units"] == ["8", "12"] and rows["epochs"] == ["2", "3"]
    )
    assert "maxlen" not in rows and "seed" not in rows  # the same in both
    measured = {line.split("\t")[0]: line.split("\t")[1:] for line in metrics.splitlines()}
    accuracy = [
        json.loads((trained / n / "metrics.json").read_text())["test_accuracy"] for n in ("small", "wide")
    ]
    assert measured["test accuracy"] == [f"{a:.4f}" for a in accuracy]
    assert measured["best epoch"][1] == "3 of 3" and measured["status"] == ["complete", "complete"]
    report = json.loads(run_cli("runs", "compare", "small", "wide", "--json").stdout)
    assert report["differences"]["units"] == [8, 12] and [r["name"] for r in report["runs"]] == [
        "small",
        "wide",
    ]
    code, shown, err = run_in_terminal("runs", "compare", "small", "wide", "stopped")
    text = plain(shown)
    assert code == 0 and "Validation loss per epoch" in text and "Settings that differ" in text, err
    assert re.search(r"•• small\n\s*xx wide\n\s*\+\+ stopped", text)


def test_compare_takes_runs_of_every_kind_and_refuses_fewer_than_two(root):
    result = run_cli("runs", "compare", "old", "cluster", "killed", "garbled", "--plot")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "distribution.workers\t-\t2\t1\t-" in out and "Validation loss per epoch" in out
    assert "garbled (no val_loss recorded)" in out
    assert "at least two" in one_line_error(run_cli("runs", "compare", "small"), 2)
    assert "named twice" in one_line_error(run_cli("runs", "compare", "small", str(root / "small")), 2)


# --- rm and prune ----------------------------------------------------------------------------


def test_rm_without_a_terminal_or_yes_refuses_and_removes_nothing(root):
    before = sorted(p.name for p in root.iterdir())
    assert "--yes" in one_line_error(run_cli("runs", "rm", "small", input=b""), 2)
    assert "--yes" in one_line_error(run_cli("runs", "rm", "small", input=b"y\n"), 2)
    closed = subprocess.run(
        [sys.executable, "-m", "rnncli", "runs", "rm", "small"], stdin=subprocess.DEVNULL, capture_output=True
    )
    assert "--yes" in one_line_error(closed, 2)
    assert sorted(p.name for p in root.iterdir()) == before


def test_rm_asks_on_a_terminal_and_moves_latest_to_the_newest_complete_run_left(root):
    code, shown, _ = run_in_terminal("runs", "rm", "wide", answer=b"n\n")
    assert code == 0 and "Remove 1 run?" in shown and (root / "wide").is_dir()
    code, shown, err = run_in_terminal("runs", "rm", "wide", "stopped", answer=b"y\n")
    assert code == 0, err
    assert "Removed wide" in shown and "Removed stopped" in shown and "LATEST now points at small" in shown
    assert not (root / "wide").exists() and not (root / "stopped").exists()
    assert (root / "LATEST").read_text().strip() == str((root / "small").resolve())
    assert run_cli("predict", "good film").returncode == 0  # LATEST is a usable run
    result = run_cli("runs", "rm", "small", "old", "cluster", "--yes")
    assert result.returncode == 0 and "LATEST removed" in result.stdout.decode()
    assert not (root / "LATEST").exists() and not (root / ".jobs" / "abc123").exists()
    assert (root / "killed").is_dir() and (root / "photos" / "cat.jpg").is_file()


def test_rm_deletes_only_runs_in_the_root_never_through_a_link(root, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.copytree(root / "small", outside)
    (root / "link").symlink_to(outside, target_is_directory=True)
    for name, words in (
        ("link", "symbolic link"),
        (str(outside), "not a run in the runs root"),
        ("photos", "not an rnncli run"),
        ("notes.txt", "not an rnncli run"),
        (".jobs", "not an rnncli run"),
        (str(root), "not a run in the runs root"),
        ("nope", "no run 'nope'"),
    ):
        assert words in one_line_error(run_cli("runs", "rm", name, "--yes"), 1), name
    # One bad name among good ones: nothing at all is removed.
    one_line_error(run_cli("runs", "rm", "small", "photos", "--yes"), 1)
    assert (root / "small").is_dir() and (outside / "config.json").is_file() and (root / "link").is_symlink()
    dry = run_cli("runs", "rm", "small", "--dry-run")
    assert dry.returncode == 0 and "Would remove 1 run" in dry.stdout.decode() and (root / "small").is_dir()
    removed = run_cli("runs", "rm", "garbled", "badconfig", "killed", "broke", "--yes")  # damaged ones too
    assert removed.returncode == 0, removed.stderr.decode()
    assert not any((root / n).exists() for n in ("garbled", "badconfig", "killed", "broke"))


def test_prune_keeps_the_newest_complete_runs_and_removes_the_states_asked(root):
    assert "--keep N" in one_line_error(run_cli("runs", "prune", "--yes"), 2)
    assert "--status must be one of" in one_line_error(run_cli("runs", "prune", "--status", "running"), 2)
    assert "--keep must be" in one_line_error(run_cli("runs", "prune", "--keep", "-1"), 2)
    dry = run_cli("runs", "prune", "--keep", "2", "--dry-run")
    assert dry.returncode == 0 and (root / "old").is_dir()
    assert dry.stdout.decode().splitlines()[0] == "Would remove 2 runs:"
    result = run_cli("runs", "prune", "--keep", "2", "--status", "killed", "--status", "failed", "--yes")
    assert result.returncode == 0, result.stderr.decode()
    left = {p.name for p in root.iterdir()}
    # Complete by completion: wide (newest), small, old, cluster (oldest); keep 2.
    assert {"wide", "small"} <= left and not {"old", "cluster", "killed", "broke"} & left
    assert {"stopped", "garbled", "badconfig", "photos", "notes.txt", "LATEST"} <= left
    assert not (root / ".jobs").exists()  # the pointer named the removed multi-worker run
    assert run_cli("runs", "prune", "--status", "damaged", "--dataset", "texts", "--yes").returncode == 0
    assert (root / "garbled").is_dir()  # no dataset recorded: not selected by --dataset texts
    assert run_cli("runs", "prune", "--status", "damaged", "--yes").returncode == 0
    assert not (root / "garbled").exists() and not (root / "badconfig").exists()
    nothing = run_cli("runs", "prune", "--status", "failed", "--yes")
    assert nothing.returncode == 0 and "nothing to remove" in nothing.stderr.decode()


def test_runs_commands_import_neither_tensorflow_nor_numpy(root):
    probe = (
        "import sys\nfrom rnncli.cli import main\nsys.argv = ['rnncli'] + sys.argv[1:]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    for args in (
        ["runs"],
        ["runs", "show", "small", "--plot"],
        ["runs", "compare", "small", "wide", "--plot"],
    ):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, timeout=60)
        assert result.stderr.decode().strip().splitlines()[-1] == "HEAVY [] 0", result.stderr


def test_runs_options_belong_after_the_subcommand(root):
    assert "after its name" in one_line_error(run_cli("runs", "--json", "show", "small"), 2)
