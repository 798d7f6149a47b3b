"""`rnncli export`: a SavedModel that takes raw strings answers as `rnncli predict` does, on real
test texts of every built-in dataset; the in-graph word splitting matches `rnncli.text`'s; what
it cannot match (NFC, learned tokenizers) is measured or refused; the copies carry their files."""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import pytest

from rnncli.text import tokenize
from tests.conftest import DATA, run_cli

#: Strings where a careless in-graph tokenizer would part ways with `rnncli.text.tokenize`.
HOSTILE = [
    "Don't 'quote' it's a'b'c rock'n'roll '' x'' ''y",
    "<br /><i>Markup</i> <not closed and <a href='x'>link</a> <" + "m" * 250 + "> kept",
    "CAFÉ naïve ÅNGSTRÖM İstanbul straße ΣΊΣΥΦΟΣ",
    "日本語のテキスト фильм مرحبا ١٢٣ x_y__z 3.14 1,000 ½ Ⅻ",
    "😀 ㅋㅋ 좋아요!! 영화가...정말",
    "",
    "!!! ... ???",
    "tab\there\nnewline\r\nend",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_words_in_the_graph_are_rnncli_words(text):
    from rnncli.models.savedmodel import words_of

    got = [w.decode("utf-8") for w in words_of(np.array([text], dtype=object)).to_list()[0]]
    assert got == tokenize(text)


def _test_texts(dataset: str, count: int) -> list[str]:
    from rnncli.data import fetch, imdb, nsmc, reuters
    from rnncli.data.builtin import DATASETS

    if dataset == "nsmc":
        corpus = nsmc.load(fetch.locate_together(nsmc.FILES, "nsmc", DATA / "nsmc"))
    else:
        info = DATASETS[dataset]
        source = fetch.locate(info.filename, info.folder, DATA)
        corpus = (imdb if dataset == "imdb" else reuters).load(source)
    return [" ".join(text.split()) for text in corpus.test_texts[:count]]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One small run per built-in dataset (`chars` for Korean), each exported as a SavedModel."""
    if not (DATA / "aclImdb_v1.tar.gz").is_file():
        pytest.skip("the real corpora are not in RNNCLI_DATA")
    root = tmp_path_factory.mktemp("export")
    env = {"RNNCLI_RUNS": str(root / "runs")}
    made = {}
    for dataset, extra in (
        ("imdb", ["--arch", "cnn-lstm"]),
        ("reuters", []),
        ("nsmc", ["--tokenizer", "chars"]),
    ):
        run = root / dataset
        trained = run_cli(
            "train", dataset, "--limit", "1000", "--epochs", "1", "--num-words", "2000", "--no-plot",
            "--seed", "1", "--out", str(run), *extra, env=env,
        )  # fmt: skip
        assert trained.returncode == 0, trained.stderr.decode()
        done = run_cli("export", str(run), "--out", str(root / f"{dataset}-saved"), env=env)
        assert done.returncode == 0, done.stderr.decode()
        made[dataset] = (run, root / f"{dataset}-saved")
    return made, env


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["imdb", "reuters", "nsmc"])
def test_the_saved_model_answers_as_predict_on_1000_real_test_texts(exported, dataset, tmp_path):
    import tensorflow as tf

    made, env = exported
    run, saved = made[dataset]
    texts = _test_texts(dataset, 1000)
    assert any(not t.isascii() for t in texts) or dataset != "nsmc"
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    answer = run_cli(
        "predict", "--model", str(run), "--precision", "float", "--json", "--file", str(source), env=env
    )
    assert answer.returncode == 0, answer.stderr.decode()
    records = [json.loads(line) for line in answer.stdout.decode().splitlines()]
    signature = tf.saved_model.load(str(saved)).signatures["serving_default"]
    out = signature(tf.constant(texts))
    names = [n.decode() for n in out["label_names"].numpy()[0]]
    expected = np.array([[r["probabilities"][n] for n in names] for r in records])
    difference = np.abs(out["probabilities"].numpy() - expected).max()
    assert difference <= 1e-4, difference
    assert [label.decode() for label in out["label"].numpy()] == [r["label"] for r in records]


@pytest.mark.slow
def test_decomposed_hangul_is_the_measured_difference_of_a_chars_saved_model(exported):
    """rnncli reads NFD as the composed text; TensorFlow has no NFC, so the graph does not."""
    import tensorflow as tf

    made, env = exported
    run, saved = made["nsmc"]
    composed = _test_texts("nsmc", 200)
    decomposed = [unicodedata.normalize("NFD", t) for t in composed]
    signature = tf.saved_model.load(str(saved)).signatures["serving_default"]
    same = signature(tf.constant(composed))["probabilities"].numpy()
    apart = signature(tf.constant(decomposed))["probabilities"].numpy()
    changed = int((np.abs(same - apart).max(axis=1) > 1e-4).sum())
    hangul = sum(t != d for t, d in zip(composed, decomposed))
    assert hangul > 150 and changed > 0.5 * hangul  # measured: docs/serving.md says so


def test_learned_tokenizers_and_occupied_folders_are_refused_in_one_line(tiny_run, tmp_path):
    import shutil

    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    subword = tmp_path / "subword"
    shutil.copytree(tiny_run, subword)
    config = json.loads((subword / "config.json").read_text())
    config["tokenizer"] = {"name": "morphemes"}
    (subword / "config.json").write_text(json.dumps(config))
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    for args, reason in (
        ([str(tiny_run), "--out", str(taken)], "already exists"),
        ([str(tiny_run), "--format", "onnx", "--out", str(tmp_path / "x")], "--format"),
        ([str(subword), "--out", str(tmp_path / "x")], "SavedModel can hold the words and chars"),
    ):
        result = run_cli("export", *args, env=env)
        err = result.stderr.decode().strip()
        assert result.returncode == 2 and reason in err and "\n" not in err, err
    assert (taken / "keep.txt").read_text() == "mine" and [p.name for p in taken.iterdir()] == ["keep.txt"]
    assert not (tmp_path / "x").exists()


def test_tflite_and_keras_copies_carry_what_encoding_needs(tiny_run, tmp_path):
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    for fmt, model in (("tflite", "model.tflite"), ("keras", "model.keras")):
        out = tmp_path / fmt
        result = run_cli("export", str(tiny_run), "--format", fmt, "--out", str(out), env=env)
        assert result.returncode == 0, result.stderr.decode()
        assert {model, "vocab.json", "preprocessing.json"} <= {p.name for p in out.iterdir()}
        assert (out / model).read_bytes() == (tiny_run / model).read_bytes()
        about = json.loads((out / "preprocessing.json").read_text())
        assert about["ids"] == {"padding": 0, "start": 1, "unknown": 2, "rank_offset": 3}
        assert about["maxlen"] == 12 and about["label_names"] == ["alpha", "beta", "gamma"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
