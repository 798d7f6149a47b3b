"""The fast inference path: LiteRT exports agree with Keras, and predict skips TensorFlow."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from rnncli import runs
from rnncli.inference import LITERT_FILE, KerasModel, LiteRTModel, load_model
from rnncli.models import persist
from rnncli.models.export import TOLERANCE, export_litert
from rnncli.models.factories import build, fit_to_data
from rnncli.models.ngram_ids import GRAMS_FILE
from rnncli.models.registry import ARCHITECTURES, ModelSpec


def _trained(spec: ModelSpec):
    model = build(spec)
    rng = np.random.RandomState(0)
    x = rng.randint(0, spec.num_words, size=(32, spec.maxlen))
    y = rng.randint(0, spec.num_classes, size=32).astype("float32" if spec.num_classes == 2 else "int32")
    fit_to_data(model, spec, x, y)
    model.fit(x, y, epochs=1, verbose=0)
    return model, rng.randint(0, spec.num_words, size=(50, spec.maxlen))


#: Every architecture with a sigmoid head; the softmax head on one of each family (recurrent,
#: attention, bag of n-grams with one ratio column per class) keeps the suite's time in bounds.
_EXPORTED = [(arch, 2) for arch in [*ARCHITECTURES, "attention-pool"]] + [
    (arch, 5) for arch in ("lstm", "attention", "fasttext", "nbsvm")
]


@pytest.mark.parametrize("arch, classes", _EXPORTED)
def test_litert_export_matches_keras_on_every_architecture(tmp_path, arch, classes):
    arch, _, attention = arch.partition("-pool")
    dropout = 0.5 if arch in ("cnn-lstm", "attention") else 0.0
    mask = arch in ("fasttext", "nbsvm") or bool(attention)
    spec = ModelSpec(
        arch,
        80,
        24,
        classes,
        16,
        8,
        dropout,
        buckets=40,
        mask=mask,
        attention="pool" if attention else "luong",
    )
    model, rows = _trained(spec)
    difference = export_litert(model, spec, tmp_path / LITERT_FILE, rows[:8])
    assert difference <= TOLERANCE
    exported = LiteRTModel.load(tmp_path / LITERT_FILE, spec)
    expected = model.predict(rows, verbose=0)
    np.testing.assert_allclose(exported.predict(rows), expected, atol=TOLERANCE)
    # Batches of any size, including one row.
    np.testing.assert_allclose(exported.predict(rows[:1]), expected[:1], atol=TOLERANCE)


def test_runs_without_an_export_fall_back_to_keras(tmp_path):
    spec = ModelSpec("lstm", 30, 10, 3, 4, 4, 0.0)
    persist.save(build(spec), tmp_path / runs.MODEL)
    assert isinstance(load_model(tmp_path, runs.MODEL, spec), KerasModel)


def test_a_mismatched_export_is_refused(tmp_path):
    from rnncli.errors import RunError

    spec = ModelSpec("lstm", 30, 10, 3, 4, 4, 0.0)
    model, rows = _trained(spec)
    export_litert(model, spec, tmp_path / LITERT_FILE, rows[:4])
    with pytest.raises(RunError, match="maxlen 11"):
        LiteRTModel.load(tmp_path / LITERT_FILE, ModelSpec("lstm", 30, 11, 3, 4, 4, 0.0))


def test_predict_with_an_export_never_imports_tensorflow(tmp_path, runs_dir):
    from rnncli.text import Vocabulary

    spec = ModelSpec("cnn-lstm", 30, 12, 2, 4, 4, 0.5)
    model, rows = _trained(spec)
    run = tmp_path / "run"
    run.mkdir()
    persist.save(model, run / runs.MODEL)
    export_litert(model, spec, run / LITERT_FILE, rows[:4])
    Vocabulary(("good", "bad")).save(run / runs.VOCAB)
    runs.write_json(
        run / runs.CONFIG, {"dataset": "t", "label_names": ["neg", "pos"], "model": spec.to_dict()}
    )
    runs.set_status(run, runs.COMPLETE)
    probe = (
        "import sys\nfrom rnncli.cli import main\n"
        f"sys.argv = ['rnncli', 'predict', '--model', {str(run)!r}, 'good film']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    print('exit', e.code, file=sys.stderr)\n"
        "print('TF' if 'tensorflow' in sys.modules else 'NO-TF', file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120)
    assert result.stderr.decode().split() == ["exit", "0", "NO-TF"], result.stderr.decode()
    label, probability = result.stdout.decode().strip().split("\t")
    expected = float(model.predict(np.array([[0] * 9 + [1, 4, 2]]), verbose=0)[0, 0])
    assert label == ("pos" if expected >= 0.5 else "neg")
    assert float(probability) == pytest.approx(max(expected, 1 - expected), abs=1e-4)


@pytest.mark.parametrize("arch", ["cnn-lstm", "attention", "fasttext", "fasttext-mean", "nbsvm"])
def test_masked_runs_route_short_texts_to_narrow_exports_with_the_same_answers(tmp_path, arch):
    """Recurrent models get every narrow width; bag-of-n-grams models one export of free width
    (mean pooling counts repeated n-grams, √n pooling and NBSVM keep each once)."""
    from rnncli.inference import LiteRTWidths
    from rnncli.models.export import export_all

    pooling = "mean" if arch.endswith("-mean") else "sqrtn"
    arch = arch.removesuffix("-mean")
    extra = {"fasttext": {"ngrams": 3, "pooling": pooling}, "nbsvm": {"ngrams": 3}}.get(arch, {})
    spec = ModelSpec(arch, 60, 32, 2, 8, 6, 0.5, mask=True, buckets=50, **extra)
    model, _ = _trained(spec)
    rng = np.random.RandomState(3)
    rows = np.zeros((40, 32), dtype=np.int32)
    for i, length in enumerate(rng.randint(1, 33, size=40)):
        rows[i, 32 - length :] = rng.randint(3, 60, size=length)
        rows[i, 32 - length] = 1
    for stale in (GRAMS_FILE, "model.grams.int8.tflite"):  # left by an earlier export
        (tmp_path / stale).write_bytes(b"stale")
    widths = export_all(model, spec, tmp_path, rows)
    assert not (tmp_path / "model.grams.int8.tflite").exists()  # int8 twins come after the check
    ngrams = arch in ("fasttext", "nbsvm")
    assert widths == ([32] if ngrams else [32, 16, 24])  # maxlen, then every narrow width
    persist.save(model, tmp_path / runs.MODEL)
    loaded = load_model(tmp_path, runs.MODEL, spec)
    assert isinstance(loaded, LiteRTModel if ngrams else LiteRTWidths)
    # A bag-of-n-grams export takes any width: each text runs at about its own length.
    assert getattr(loaded, "free", False) == ngrams
    expected = model.predict(rows, verbose=0)
    np.testing.assert_allclose(loaded.predict(rows), expected, atol=TOLERANCE)
    # Staged on one thread and run on another, as `Predictor.stream` does: the same answers.
    with ThreadPoolExecutor(max_workers=1) as pool:
        staged = pool.submit(loaded.run, loaded.stage(rows)).result()
    np.testing.assert_allclose(staged, expected, atol=TOLERANCE)
    # n-gram runs answer from the grams export, fed n-gram ids made by NumPy.
    assert (tmp_path / GRAMS_FILE).is_file() == ngrams
    assert (getattr(loaded, "prepare", None) is not None) == ngrams
    if ngrams:
        # A run exported before grams files existed still answers, from `model.tflite`.
        (tmp_path / GRAMS_FILE).unlink()
        older = load_model(tmp_path, runs.MODEL, spec)
        assert older.prepare is None
        np.testing.assert_allclose(older.predict(rows), expected, atol=TOLERANCE)


def test_litert_pads_short_pieces_and_allocates_each_shape_once(tmp_path):
    """Batches of any size run at the one shape the interpreter holds, short pieces padded: it is
    re-allocated only to grow (by powers of two, up to CHUNK rows), never back and forth for the
    remainder of every batch, and the padding changes no answer."""
    from ai_edge_litert.interpreter import Interpreter

    from rnncli.inference import CHUNK

    class Counting(Interpreter):
        shapes: list[int] = []

        def resize_tensor_input(self, index, size, *args, **kwargs):
            type(self).shapes.append(int(size[0]))
            return super().resize_tensor_input(index, size, *args, **kwargs)

    spec = ModelSpec("lstm", 30, 10, 3, 4, 4, 0.0)
    model, rows = _trained(spec)
    export_litert(model, spec, tmp_path / LITERT_FILE, rows[:4])
    payload = (tmp_path / LITERT_FILE).read_bytes()
    rows = np.random.RandomState(5).randint(0, 30, size=(3 * CHUNK + 7, 10))

    def unpadded(part: np.ndarray) -> np.ndarray:
        """The same rows through an interpreter sized exactly to them."""
        plain = Interpreter(model_content=payload)
        plain.resize_tensor_input(plain.get_input_details()[0]["index"], part.shape)
        plain.allocate_tensors()
        plain.set_tensor(plain.get_input_details()[0]["index"], part.astype(np.int32))
        plain.invoke()
        return plain.get_tensor(plain.get_output_details()[0]["index"]).astype(np.float64)

    interpreter = Counting(model_content=payload)
    interpreter.allocate_tensors()
    padded = LiteRTModel(interpreter)
    for size in (1, 3, 2, 5, CHUNK, 37, len(rows), CHUNK + 1, 1, 5):
        got = padded.predict(rows[:size])
        expected = np.concatenate([unpadded(rows[i : min(i + CHUNK, size)]) for i in range(0, size, CHUNK)])
        np.testing.assert_array_equal(got, expected)
    # One row runs as loaded; 3 rows grow it to 4, 5 to 8, 64 to CHUNK; nothing shrinks it again.
    assert Counting.shapes == [4, 8, CHUNK] and padded.batch == CHUNK
    assert padded.predict(rows[:0]).shape == (0, 3)


def test_an_export_that_would_not_fit_in_memory_is_skipped_with_a_warning(tmp_path, monkeypatch):
    from rnncli import memory
    from rnncli.models.export import conversion_bytes
    from rnncli.progress import RecordingReporter
    from rnncli.training.finish import export_for_inference

    spec = ModelSpec("fasttext", 30, 10, 2, 8, 0, 0.0, buckets=100, ngrams=2)
    model, rows = _trained(spec)
    needed = conversion_bytes(model)
    assert needed == model.count_params() * 32
    for free, exported in ((needed - 1, False), (needed, True)):
        run_dir = tmp_path / str(free)
        run_dir.mkdir()
        monkeypatch.setattr(memory, "available", lambda free=free: free)
        reporter = RecordingReporter()
        export_for_inference(model, spec, run_dir, rows, reporter)
        assert (run_dir / LITERT_FILE).is_file() == exported
        skipped = [m for m in reporter.warnings if "skipped, predict will use Keras" in m]
        assert len(skipped) == (0 if exported else 1), reporter.warnings
