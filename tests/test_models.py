import numpy as np
import pytest

from rnncli.errors import RunError, UsageError
from rnncli.models import persist
from rnncli.models.factories import build
from rnncli.models.registry import ModelSpec
from rnncli.settings import model_spec, resolve


@pytest.mark.parametrize(
    "dataset, arch, classes, expected",
    [
        ("imdb", "cnn-lstm", 2, 558_520),
        ("reuters", "lstm", 46, 185_046),
        ("imdb", "attention", 2, 2_665_249),
    ],
)
def test_book_parameter_counts(dataset, arch, classes, expected):
    model = build(model_spec(resolve(dataset, arch=arch), classes))
    assert model.count_params() == expected


def test_attention_block_has_the_packages_20480_weights():
    model = build(model_spec(resolve("imdb", arch="attention"), 2))
    assert model.get_layer("attention").count_params() == 20_480
    assert model.count_params() - 20_480 == 2_644_769


@pytest.mark.parametrize("arch", ["gru", "bilstm"])
def test_other_cells_build_with_softmax_for_many_classes(arch):
    model = build(model_spec(resolve("reuters", arch=arch), 46))
    assert model.output_shape == (None, 46)


@pytest.mark.parametrize("attention", ["luong", "pool"])
def test_attention_weights_are_a_distribution_over_time(attention):
    from rnncli.backend import keras

    model = build(ModelSpec("attention", 50, 12, 2, 8, 4, 0.5, attention=attention))
    layer = model.get_layer("attention")
    sequence = keras().Model(model.input, model.get_layer("lstm").output)
    ids = np.random.RandomState(0).randint(1, 50, size=(3, 12))
    states = sequence(ids)
    output, weights = layer(states, return_attention_scores=True)
    weights = np.asarray(weights)
    assert output.shape == (3, 128) and weights.shape == (3, 12)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    # Masked steps get no weight at all.
    mask = np.arange(12)[None, :].repeat(3, 0) >= 4
    _, masked = layer(states, mask=mask, return_attention_scores=True)
    masked = np.asarray(masked)
    assert (masked[:, :4] == 0).all()
    np.testing.assert_allclose(masked.sum(axis=1), 1.0, rtol=1e-5)


def test_pooled_attention_block_has_a_learned_query_and_no_shortcut():
    model = build(ModelSpec("attention", 5000, 500, 2, 500, 64, 0.5, attention="pool"))
    # W (64x64) + b (64) + query (64) + output (64x128): no 2d-wide input as Luong's [c; h_t].
    assert model.get_layer("attention").count_params() == 64 * 64 + 64 + 64 + 64 * 128


@pytest.mark.parametrize("arch", ["attention", "attention-pool", "cnn-lstm"])
def test_models_round_trip_through_keras_files_with_safe_mode(tmp_path, arch):
    arch, _, pool = arch.partition("-pool")
    spec = ModelSpec(arch, 60, 16, 2, 8, 4, 0.5, attention="pool" if pool else "luong")
    model = build(spec)
    x = np.random.RandomState(1).randint(0, 60, size=(4, 16))
    model.fit(x, np.array([0, 1, 0, 1], dtype="float32"), epochs=1, verbose=0)
    persist.save(model, tmp_path / "model.keras")
    loaded = persist.load(tmp_path / "model.keras", spec)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_inconsistent_model_is_refused(tmp_path):
    spec = ModelSpec("lstm", 60, 10, 3, 8, 4, 0.0)
    persist.save(build(spec), tmp_path / "model.keras")
    with pytest.raises(RunError, match="vocabulary size 60 disagrees"):
        persist.load(tmp_path / "model.keras", ModelSpec("lstm", 70, 10, 3, 8, 4, 0.0))
    with pytest.raises(RunError, match="3 outputs but config lists 4 classes"):
        persist.load(tmp_path / "model.keras", ModelSpec("lstm", 60, 10, 4, 8, 4, 0.0))


def test_lambda_layers_are_refused(tmp_path):
    from rnncli.backend import keras

    k = keras()
    inputs = k.Input(shape=(None,), dtype="int32")
    x = k.layers.Embedding(10, 4)(inputs)
    x = k.layers.Lambda(lambda t: t * 2)(x)
    model = k.Model(inputs, k.layers.Dense(1)(k.layers.GlobalAveragePooling1D()(x)))
    model.save(tmp_path / "evil.keras")
    with pytest.raises(RunError, match="refused"):
        persist.load(tmp_path / "evil.keras")


def test_damaged_model_file_is_a_run_error(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(RunError, match="cannot load model"):
        persist.load(tmp_path / "model.keras")


def _rezipped(source, target, change) -> None:
    """`source` with each member's bytes replaced by `change(name, data)` (None drops it)."""
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)


_DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "flipped-byte": lambda data: data[:-300] + bytes([data[-300] ^ 0xFF]) + data[-299:],
    "empty": lambda data: b"",
}
_MEMBER_DAMAGE = {
    "no-config": lambda name, data: None if name == "config.json" else data,
    "config-not-json": lambda name, data: b"{not json" if name == "config.json" else data,
    "config-a-list": lambda name, data: b"[1, 2]" if name == "config.json" else data,
    "unknown-layer": lambda name, data: data.replace(b'"LSTM"', b'"NoSuchLayer"'),
    "no-weights": lambda name, data: None if name.endswith(".h5") else data,
    "weights-garbage": lambda name, data: b"garbage" if name.endswith(".h5") else data,
}


@pytest.mark.parametrize("damage", [*_DAMAGE, *_MEMBER_DAMAGE])
def test_every_kind_of_damaged_model_file_is_one_run_error(tmp_path, damage):
    spec = ModelSpec("lstm", 30, 10, 3, 4, 4, 0.0)
    persist.save(build(spec), tmp_path / "good.keras")
    target = tmp_path / "model.keras"
    if damage in _DAMAGE:
        target.write_bytes(_DAMAGE[damage]((tmp_path / "good.keras").read_bytes()))
    else:
        _rezipped(tmp_path / "good.keras", target, _MEMBER_DAMAGE[damage])
    with pytest.raises(RunError, match=f"cannot load model {target}"):
        persist.load(target, spec)


def test_a_bug_while_loading_is_not_reported_as_a_damaged_file(tmp_path):
    """Only what Keras raises for damaged files becomes "cannot load"; an error of any other kind
    (here from a layer's own code) is a bug and surfaces as itself."""
    from rnncli.backend import keras

    k = keras()

    @k.saving.register_keras_serializable(package="rnncli_tests")
    class Faulty(k.layers.Layer):
        def call(self, x):
            return x

        @classmethod
        def from_config(cls, config):
            raise ZeroDivisionError("a bug in from_config")

    inputs = k.Input(shape=(None,), dtype="int32")
    x = k.layers.GlobalAveragePooling1D()(Faulty()(k.layers.Embedding(30, 4)(inputs)))
    k.Model(inputs, k.layers.Dense(1)(x)).save(tmp_path / "model.keras")
    with pytest.raises(ZeroDivisionError, match="a bug in from_config"):
        persist.load(tmp_path / "model.keras")


def test_spec_validation():
    with pytest.raises(UsageError, match="cnn-lstm needs maxlen"):
        ModelSpec("cnn-lstm", 100, 4, 2, 8, 4, 0.5)


def test_hashed_ngrams_are_the_distinct_words_and_neighbour_runs_of_each_text():
    from rnncli.models.layers import HashedNGrams

    def pair(a, b):
        return 10 + (a * 10 + b) % 7

    ids = np.array([[0, 0, 1, 5, 9], [1, 5, 9, 5, 9]], dtype=np.int32)
    out = np.asarray(HashedNGrams(num_words=10, buckets=7, order=2)(ids))
    assert out.shape == (2, 9)
    # Padding and pairs touching it give nothing; each id is kept once per text.
    assert sorted(v for v in out[0] if v) == sorted({1, 5, 9, pair(1, 5), pair(5, 9)})
    assert sorted(v for v in out[1] if v) == sorted({1, 5, 9, pair(1, 5), pair(5, 9), pair(9, 5)})
    # Trigrams add runs of three; all n-gram ids land past the words, inside the buckets.
    three = np.asarray(HashedNGrams(num_words=10, buckets=7, order=3)(ids))
    assert three.shape == (2, 12)
    raw = np.asarray(HashedNGrams(num_words=10, buckets=7, order=3, distinct=False)(ids))
    np.testing.assert_array_equal(raw[:, :5], ids)  # the words first, as they are
    grams = raw[:, 5:]  # then the 4 pairs and the 3 triples
    real = np.array([[0, 0, 1, 1, 0, 0, 1], [1] * 7], dtype=bool)  # runs with no padding in them
    np.testing.assert_array_equal((grams >= 10) & (grams < 17), real)
    assert (grams[~real] == 0).all()
    # Each kept once: the text's distinct words below num_words, its distinct n-grams past them.
    for row, text in zip(three, raw):
        assert sorted(v for v in row if 0 < v < 10) == sorted(set(text[:5]) - {0})
        assert sorted(v for v in row if v >= 10) == sorted(set(text[5:]) - {0}) and row.max() < 17
    assert len({v for v in three[1] if v}) >= len({v for v in out[1] if v})
    # The output depends on the text, not on the padding before it.
    padded = np.asarray(HashedNGrams(10, 7, order=3)(np.array([[0, 0, 0, 1, 5, 9, 5, 9]])))
    assert sorted(v for v in padded[0] if v) == sorted(v for v in three[1] if v)


@pytest.mark.parametrize("classes", [2, 4])
def test_nbsvm_learns_weights_over_fixed_ratios_and_round_trips(tmp_path, classes):
    from rnncli.models.factories import fit_to_data

    spec = ModelSpec("nbsvm", 50, 12, classes, 1, 0, 0.0, mask=True, buckets=30, ngrams=3)
    model = build(spec)
    columns = 1 if classes == 2 else classes
    assert model.get_layer("nb_ratios").trainable is False
    assert model.get_layer("embedding").input_dim == 80
    # Trainable: one weight per row and class column, then the Dense head.
    assert model.count_params() - 80 * columns == 80 * columns + columns * (
        1 if classes == 2 else classes
    ) + (1 if classes == 2 else classes)
    rng = np.random.RandomState(0)
    x = rng.randint(0, 50, size=(40, 12))
    y = (x[:, -1] % classes).astype("float32" if classes == 2 else "int32")
    fit_to_data(model, spec, x, y)
    ratios = model.get_layer("nb_ratios").get_weights()[0]
    assert ratios.shape == (80, columns) and (ratios[0] == 0).all() and np.abs(ratios).sum() > 0
    model.fit(x, y, epochs=2, verbose=0)
    # Training moves the weights, never the ratios.
    np.testing.assert_array_equal(model.get_layer("nb_ratios").get_weights()[0], ratios)
    assert np.abs(model.get_layer("embedding").get_weights()[0]).sum() > 0
    persist.save(model, tmp_path / "m.keras")
    loaded = persist.load(tmp_path / "m.keras", spec)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    # --resume loads a checkpoint's weights into a fresh model and does not count again.
    fresh = build(spec)
    fresh.optimizer.build(fresh.trainable_variables)  # as resume does: the optimizer's state loads too
    fresh.load_weights(tmp_path / "m.keras")
    np.testing.assert_array_equal(fresh.get_layer("nb_ratios").get_weights()[0], ratios)


def test_fasttext_embeds_words_and_buckets_and_round_trips(tmp_path):
    spec = ModelSpec("fasttext", 100, 20, 3, 8, 0, 0.0, mask=True, buckets=50)
    model = build(spec)
    assert model.get_layer("embedding").input_dim == 150
    x = np.random.RandomState(0).randint(0, 100, size=(4, 20))
    persist.save(model, tmp_path / "m.keras")
    loaded = persist.load(tmp_path / "m.keras", spec)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    # A config that forgets the buckets disagrees with the saved embedding.
    with pytest.raises(RunError, match="vocabulary size 150"):
        persist.load(tmp_path / "m.keras", ModelSpec("fasttext", 100, 20, 3, 8, 0, 0.0, buckets=0))
