"""int8 exports: written beside the float ones, checked on held-out rows, kept or removed, and
chosen by `predict` unless `--precision float` says otherwise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnncli.inference import LiteRTModel, exports, load_model
from rnncli.models import quantize
from rnncli.models.export import TOLERANCE, export_all
from rnncli.models.factories import build, fit_to_data
from rnncli.models.ngram_ids import GRAMS_FILE
from rnncli.models.registry import ModelSpec


def _rows(rng: np.random.RandomState, count: int, maxlen: int, num_words: int) -> np.ndarray:
    rows = np.zeros((count, maxlen), dtype=np.int32)
    for i, length in enumerate(rng.randint(2, maxlen + 1, size=count)):
        rows[i, maxlen - length :] = rng.randint(3, num_words, size=length)
        rows[i, maxlen - length] = 1
    return rows


@pytest.fixture(scope="module", params=["nbsvm", "lstm"])
def trained(request, tmp_path_factory):
    """A small masked model that has learned something (the label is whether id 5 occurs)."""
    spec = ModelSpec(request.param, 60, 24, 2, 8, 8, 0.0, mask=True, buckets=200, ngrams=2)
    rng = np.random.RandomState(0)
    x = _rows(rng, 1200, spec.maxlen, spec.num_words)
    y = (x == 5).any(axis=1).astype("float32")
    model = build(spec)
    fit_to_data(model, spec, x[:1000], y[:1000])
    model.fit(x[:1000], y[:1000], epochs=3, batch_size=64, verbose=0)
    folder = tmp_path_factory.mktemp(request.param)
    widths = export_all(model, spec, folder, x[1000:1040])
    return model, spec, folder, widths, x[1000:], y[1000:]


def test_int8_twins_are_written_checked_and_chosen_by_default(trained):
    model, spec, folder, widths, x, y = trained
    check = quantize.quantize_all(model, spec, folder, widths, x, y, min_rows=100)
    assert check is not None and check.rows == len(x)
    expected = np.mean((model.predict(x, verbose=0)[:, 0] >= 0.5) == y)
    assert check.float_accuracy == pytest.approx(expected, abs=1 / len(x))
    assert check.kept == (check.int8_accuracy >= check.float_accuracy - quantize.MAX_DROP)
    assert set(exports(folder, int8=True)) == (set(exports(folder, int8=False)) if check.kept else set())
    grams_twin = folder / quantize.int8_name(GRAMS_FILE)
    assert grams_twin.is_file() == (check.kept and spec.arch == "nbsvm")
    if check.kept:
        assert load_model(folder, "", spec).precision == "int8"
        if spec.arch == "nbsvm":
            # n-gram runs answer from the int8 grams twin, as the word-id int8 export would.
            loaded = load_model(folder, "", spec)
            assert loaded.prepare is not None
            words = LiteRTModel.load(exports(folder, int8=True)[0], spec)
            np.testing.assert_allclose(loaded.predict(x), words.predict(x), atol=TOLERANCE)
        # Another file, not a copy (too small a model for int8 to be smaller: sizes are in docs).
        assert exports(folder, int8=True)[0].read_bytes() != exports(folder, int8=False)[0].read_bytes()
    assert load_model(folder, "", spec, precision="float").precision == "float"


def test_int8_that_loses_accuracy_is_removed(trained, monkeypatch):
    model, spec, folder, widths, x, y = trained
    monkeypatch.setattr(quantize, "MAX_DROP", -1.0)  # no export can gain a whole point of accuracy
    check = quantize.quantize_all(model, spec, folder, widths, x, y, min_rows=100)
    assert check is not None and not check.kept
    assert exports(folder, int8=True) == {}
    assert load_model(folder, "", spec).precision == "float"


def test_too_few_held_out_rows_write_no_int8(trained):
    model, spec, folder, widths, x, y = trained
    assert quantize.quantize_all(model, spec, folder, widths, x[:50], y[:50], min_rows=100) is None
    assert exports(folder, int8=True) == {}


def test_file_names_of_each_precision_do_not_mix(tmp_path):
    for name in ("model.tflite", "model.w64.tflite", "model.int8.tflite", "model.w64.int8.tflite"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "model.wx.tflite").write_bytes(b"")  # not an export name: ignored
    assert {w: p.name for w, p in exports(tmp_path, int8=False).items()} == {
        0: "model.tflite",
        64: "model.w64.tflite",
    }
    assert {w: p.name for w, p in exports(tmp_path, int8=True).items()} == {
        0: "model.int8.tflite",
        64: "model.w64.int8.tflite",
    }


def test_predict_uses_int8_unless_told_float_and_refuses_other_precisions(trained, tmp_path):
    from rnncli import runs
    from rnncli.models import persist
    from rnncli.text import Vocabulary
    from tests.conftest import run_cli

    model, spec, folder, widths, x, y = trained
    run = tmp_path / "run"
    run.mkdir()
    for path in folder.glob("model*.tflite"):
        (run / path.name).write_bytes(path.read_bytes())
    quantize.quantize_all(model, spec, run, widths, x, y, min_rows=100)
    persist.save(model, run / runs.MODEL)
    words = tuple(f"w{i}" for i in range(spec.num_words - 4))  # w1 encodes as id 5
    Vocabulary(words).save(run / runs.VOCAB)
    runs.write_json(
        run / runs.CONFIG, {"dataset": "t", "label_names": ["no", "yes"], "model": spec.to_dict()}
    )
    runs.set_status(run, runs.COMPLETE)
    texts = ["w1 w7 w9", "w3 w4", "w2 w1"]
    env = {"RNNCLI_RUNS": str(tmp_path / "runs")}
    for precision in ("auto", "float"):
        result = run_cli("predict", "--model", str(run), "--precision", precision, "--json", *texts, env=env)
        assert result.returncode == 0, result.stderr.decode()
        got = [json.loads(line)["probabilities"]["yes"] for line in result.stdout.decode().splitlines()]
        kind = precision if precision == "float" else ("int8" if exports(run, int8=True) else "float")
        expected = load_model(run, "", spec, precision=kind).predict(_encoded(run, spec, texts))[:, 0]
        np.testing.assert_allclose(got, expected, atol=1e-6)
    bad = run_cli("predict", "--model", str(run), "--precision", "half", "w1", env=env)
    err = bad.stderr.decode().strip()
    assert bad.returncode == 2 and "--precision" in err and "\n" not in err, err


def _encoded(run, spec, texts):
    from rnncli import runs
    from rnncli.text import Encoder, Vocabulary, pad, tokenize

    encoder = Encoder(Vocabulary.load(run / runs.VOCAB), spec.num_words)
    return pad([encoder.encode_tokens(tokenize(t)) for t in texts], spec.maxlen)
