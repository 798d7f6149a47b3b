"""Explanations on small runs trained here: attention weights and occlusion importance."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from rnncli import console, runs, settings
from rnncli.data.usersource import UserSource
from rnncli.explain import explain
from rnncli.predict import Predictor
from rnncli.training import train
from tests.conftest import run_cli

GOOD = ["wonderful film", "great acting", "a wonderful story", "great fun"]
BAD = ["awful film", "boring acting", "an awful story", "boring mess"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("explain") / "tiny.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(80):
            writer.writerow([GOOD[i // 2 % 4] if i % 2 else BAD[i // 2 % 4], "pos" if i % 2 else "neg"])
    return path


def _run(data_file, tmp_path_factory, arch, **extra):
    out = tmp_path_factory.mktemp(arch) / "run"
    resolved = settings.resolve(
        str(data_file),
        source=UserSource(str(data_file)),
        arch=arch,
        epochs=2,
        maxlen=12,
        num_words=40,
        embedding_dim=8,
        units=8,
        seed=0,
        out=out,
        **extra,
    )
    with pytest.MonkeyPatch.context() as patch:  # a runs root of its own: train marks LATEST there
        patch.setenv("RNNCLI_RUNS", str(out.parent / "runs"))
        train(resolved)
    return Predictor(runs.open_run(out))


@pytest.fixture(scope="module", params=["luong", "pool"])
def attention_run(data_file, tmp_path_factory, request):
    return _run(data_file, tmp_path_factory, "attention", attention=request.param)


@pytest.fixture(scope="module")
def lstm_run(data_file, tmp_path_factory):
    return _run(data_file, tmp_path_factory, "lstm")


def test_attention_weights_are_a_distribution_over_the_real_words(attention_run):
    result = explain(attention_run, "A wonderful, great film!")
    assert result.method == "attention"
    assert [w.word for w in result.words] == ["A", "wonderful", "great", "film"]
    weights = np.array([w.weight for w in result.words])
    assert np.all(np.isfinite(weights)) and np.all(weights >= 0)
    assert weights.sum() == pytest.approx(1.0, abs=1e-6)


def test_words_cut_by_maxlen_are_marked_and_weightless(attention_run):
    text = " ".join(["film"] * 20 + ["great"])
    result = explain(attention_run, text)
    assert len(result.words) == 21
    assert not result.words[0].seen and result.words[0].weight == 0.0 and result.words[-1].seen
    assert sum(w.weight for w in result.words) == pytest.approx(1.0, abs=1e-6)


def test_occlusion_of_an_unknown_word_is_zero(lstm_run):
    result = explain(lstm_run, "wonderful zyzzyva film")
    assert result.method == "occlusion"
    weights = {w.word: w.weight for w in result.words}
    assert weights["zyzzyva"] == 0.0
    assert all(np.isfinite(list(weights.values())))
    # Occluding a known word does change the prediction.
    assert weights["wonderful"] != 0.0


def test_plain_fallback_contains_every_word_with_a_bracketed_weight(lstm_run):
    text = "great acting, boring story"
    header, body, top = console.explanation_lines(explain(lstm_run, text), color=False)
    for word in ("great", "acting", "boring", "story"):
        assert f"{word}[" in body
    assert body.startswith("great[") and header.split()[0] in {"pos", "neg"} and top.startswith("top words:")


def test_explain_json_through_the_cli(attention_run):
    result = run_cli(
        "predict", "--model", str(attention_run.run.path), "--explain", "--json", "great film", "awful"
    )
    assert result.returncode == 0, result.stderr.decode()
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r["text"] for r in records] == ["great film", "awful"]
    assert [pair[0] for pair in records[0]["weights"]] == ["great", "film"]
    assert sum(pair[1] for pair in records[0]["weights"]) == pytest.approx(1.0, abs=1e-6)
    # The book's block gets a hint (on stderr, so pipes stay clean) towards the pooled one.
    assert ("--attention pool" in result.stderr.decode()) == (attention_run.spec.attention == "luong")


def test_top_words_are_distinct_and_ranked_by_magnitude():
    from rnncli.explain import Explanation, WordWeight
    from rnncli.predict import Prediction

    text = "The plot was dull but the acting was superb"
    weights = {"The": 0.01, "plot": 0.02, "was": 0.007, "dull": -0.30, "but": 0.0, "the": 0.005}
    weights |= {"acting": 0.05, "superb": 0.25}
    words, start = [], 0
    for word in text.split():
        start = text.index(word, start)
        weight = 0.006 if (word == "was" and start > 20) else weights[word]
        words.append(WordWeight(word, start, start + len(word), weight, True))
        start += len(word)
    words.append(WordWeight("cut", 0, 0, 9.0, False))  # cut off by maxlen: never a top word
    explanation = Explanation(Prediction(text, "pos", 0.9, {"neg": 0.1, "pos": 0.9}), "occlusion", words)
    top = explanation.top(5)
    # "was" twice is one entry of 0.013; "The" and "the" are one token; "dull" argued against the
    # label and weighed most; "but" (weight 0) is not a top word.
    assert [(w.word, round(w.weight, 3)) for w in top] == [
        ("dull", -0.3),
        ("superb", 0.25),
        ("acting", 0.05),
        ("plot", 0.02),
        ("The", 0.015),
    ]
    assert [w.word for w in explanation.top(10)] == ["dull", "superb", "acting", "plot", "The", "was"]
    assert top[-1].start == 0  # the first occurrence's place


def test_a_line_too_long_to_hold_is_refused_rather_than_explained(lstm_run):
    import io

    from rnncli.errors import InputError
    from rnncli.longlines import LINE_BYTES
    from rnncli.predict import read_lines

    [line] = read_lines(io.BytesIO(b"great film " * (LINE_BYTES // 10) + b"\n"), "stdin")
    # Only its beginning and its last words were kept: there is nothing whole to shade.
    with pytest.raises(InputError, match="cannot explain a line over 2 MiB"):
        explain(lstm_run, line)
