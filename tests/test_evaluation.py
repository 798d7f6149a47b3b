"""`rnncli evaluate` measures a run on the data it was trained on, read from where it was told.

Through the real CLI: a corpus that changed since training is refused (its test split would
hold texts the run trained on), and a named `--data-dir` is read, never a cache made elsewhere.
"""

from __future__ import annotations

import csv
import json

import pytest

from rnncli.errors import RunError
from rnncli.evaluation import load_test_corpus
from rnncli.runs import RunInfo
from tests.conftest import make_tar

TEXT = "alpha alpha alpha beta beta gamma"  # every row alike: growing the file keeps the vocabulary


def _write_rows(path, rows: range) -> None:
    with open(path, "a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if rows.start == 0:
            writer.writerow(["text", "label"])
        for i in rows:
            writer.writerow([TEXT, "x" if i % 2 else "y"])


def _one_line_error(result) -> str:
    err = result.stderr.decode().strip()
    assert result.returncode == 1 and err.startswith("rnncli: error:"), err
    assert "\n" not in err and "unexpected" not in err and "Traceback" not in err
    return err


def _only_run(runs) -> str:
    (run,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return str(run)


def test_evaluate_refuses_a_corpus_that_grew_since_training(cli, tmp_path):
    """Before, a 60-row test split silently became 100: another split, holding training rows."""
    data = tmp_path / "data.csv"
    _write_rows(data, range(0, 300))
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    trained = cli("train", str(data), "--epochs", "1", "--seed", "0", "--maxlen", "8", "--no-plot", env=env)
    assert trained.returncode == 0, trained.stderr.decode()
    run = _only_run(tmp_path / "runs")
    assert json.loads((tmp_path / "runs" / run / "config.json").read_text())["counts"]["test"] == 60

    same = cli("evaluate", run, "--json", env=env)
    assert same.returncode == 0, same.stderr.decode()
    report = json.loads(same.stdout)
    assert report["count"] == 60 and report["corpus"] == str(data.resolve())

    _write_rows(data, range(300, 500))
    err = _one_line_error(cli("evaluate", run, "--json", env=env))
    assert "400 training and 100 test texts" in err and "trained on 240 and tested on 60" in err
    assert str(data.resolve()) in err


def _reuters_archive(folder, words: tuple[str, str]):
    """A Reuters-shaped archive: 22 SGML files, two topics of 44 wires each (70 train, 18 test)."""
    folder.mkdir()
    members = {}
    for n in range(22):
        wires = [
            f'<REUTERS NEWID="{n}-{i}"><TOPICS><D>{topic}</D></TOPICS>'
            f"<TEXT><BODY>{word} {word} wire</BODY></TEXT></REUTERS>\n"
            for i in range(2)
            for topic, word in (("grain", words[0]), ("earn", words[1]))
        ]
        members[f"reut2-{n:03d}.sgm"] = "".join(wires).encode("latin-1")
    return make_tar(folder / "reuters21578.tar.gz", members)


def test_evaluate_reads_the_named_data_dir_not_a_cache_made_from_another(cli, tmp_path):
    """Before, `--data-dir` was ignored once `<cache>/prepared/` held the corpus."""
    first = _reuters_archive(tmp_path / "first", ("wheat", "profit"))
    other = _reuters_archive(tmp_path / "other", ("barley", "loss"))
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    env = {
        "RNNCLI_RUNS": str(tmp_path / "runs"),
        "RNNCLI_CACHE": str(tmp_path / "cache"),
        "RNNCLI_DATA": str(nothing),
    }
    trained = cli(
        "train", "reuters", "--data-dir", str(first.parent), "--epochs", "1", "--seed", "0",
        "--maxlen", "8", "--no-plot", env=env,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr.decode()
    run = _only_run(tmp_path / "runs")

    same = cli("evaluate", run, "--json", "--data-dir", str(first.parent), env=env)
    assert same.returncode == 0, same.stderr.decode()
    report = json.loads(same.stdout)
    assert report["count"] == 18 and report["corpus"].startswith(f"{first} (prepared in ")
    assert f"Corpus: {first}" in same.stderr.decode()

    err = _one_line_error(cli("evaluate", run, "--json", "--data-dir", str(other.parent), env=env))
    assert "vocabulary differs" in err and str(other) in err


def _run_on(data, counts) -> RunInfo:
    """A run's bookkeeping (no model needed) for a CSV corpus and the split sizes it recorded."""
    source = {"path": str(data), "text_col": "text", "label_col": "label"}
    config = {"dataset": "data", "source": source, "training": {"seed": 0}, "counts": counts}
    return RunInfo(data.parent, {**config, "label_names": ["x", "y"], "model": {}}, "complete")


def test_split_sizes_are_compared_with_validation_held_out_or_not(tmp_path):
    data = tmp_path / "data.csv"
    _write_rows(data, range(0, 300))
    for counts in ({"train": 200, "val": 40, "test": 60}, {"train": 240, "val": 0, "test": 60}):
        corpus, origin = load_test_corpus(_run_on(data, counts))  # held out, or --val test
        assert len(corpus.test) == 60 and origin == str(data.resolve())
    assert len(load_test_corpus(_run_on(data, None))[0].test) == 60  # runs made before counts
    with pytest.raises(RunError, match="240 training and 60 test texts, but .* tested on 59"):
        load_test_corpus(_run_on(data, {"train": 200, "val": 40, "test": 59}))
    with pytest.raises(RunError, match="bad 'counts' section"):
        load_test_corpus(_run_on(data, {"train": "many"}))
