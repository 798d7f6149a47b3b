"""LazyAdam: Adam's arithmetic on the rows a batch touches, nothing on the others."""

from __future__ import annotations

import numpy as np
import pytest


def _embedding_model(optimizer):
    from rnncli.backend import keras

    k = keras()
    inputs = k.Input(shape=(None,), dtype="int32")
    x = k.layers.Embedding(50, 4, name="embedding")(inputs)
    x = k.layers.GlobalAveragePooling1D()(x)
    model = k.Model(inputs, k.layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def _train(optimizer_name: str, ids: np.ndarray, steps: int):
    from rnncli.backend import keras
    from rnncli.models.optimizers import LazyAdam

    keras().utils.set_random_seed(0)
    optimizer = LazyAdam(0.01) if optimizer_name == "lazy" else keras().optimizers.Adam(0.01)
    model = _embedding_model(optimizer)
    before = model.get_layer("embedding").get_weights()[0].copy()
    y = np.array([1.0, 0.0], dtype="float32")
    for _ in range(steps):
        model.train_on_batch(ids, y)
    return before, model.get_layer("embedding").get_weights()[0]


def test_rows_outside_the_batch_are_left_alone():
    ids = np.array([[3, 4, 4], [7, 3, 9]], dtype="int32")
    before, after = _train("lazy", ids, steps=3)
    touched = np.unique(ids)
    untouched = np.setdiff1d(np.arange(50), touched)
    assert np.array_equal(after[untouched], before[untouched])
    assert not np.allclose(after[touched], before[touched])


@pytest.mark.parametrize("steps", [1, 4])
def test_it_is_adam_when_every_row_is_in_every_batch(steps):
    ids = np.array([np.arange(0, 25), np.arange(25, 50)], dtype="int32")
    _, lazy = _train("lazy", ids, steps)
    _, dense = _train("adam", ids, steps)
    np.testing.assert_allclose(lazy, dense, rtol=1e-5, atol=1e-6)


def test_repeated_rows_take_one_textbook_adam_step_with_their_summed_gradient():
    from rnncli.backend import keras, tensorflow
    from rnncli.models.optimizers import LazyAdam

    tf = tensorflow()
    table = keras().Variable(np.ones((6, 2), dtype="float32"))
    optimizer = LazyAdam(0.1)
    grad = tf.IndexedSlices(
        tf.constant([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]), tf.constant([4, 1, 4]), tf.constant([6, 2])
    )
    optimizer.apply([grad], [table])
    summed = np.zeros((6, 2), dtype="float32")
    summed[4] = [1.5, 2.5]
    summed[1] = [3.0, -1.0]
    m, v = 0.1 * summed, 0.001 * summed**2  # (1 - beta_1) g and (1 - beta_2) g^2
    alpha = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9)
    expected = np.ones((6, 2), dtype="float32") - alpha * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(np.asarray(table.value), expected, rtol=1e-5)
    assert np.array_equal(np.asarray(table.value)[[0, 2, 3, 5]], np.ones((4, 2)))


@pytest.mark.parametrize("arch", ["fasttext", "nbsvm"])
def test_leaving_out_the_padding_row_changes_no_weight_of_an_ngram_model(arch):
    """`skip_padding` is exact for the models that use it: row 0's gradient is exactly zero."""
    from rnncli.backend import keras
    from rnncli.models import factories
    from rnncli.models.optimizers import LazyAdam
    from rnncli.models.registry import ModelSpec

    spec = ModelSpec(
        arch=arch,
        num_words=40,
        maxlen=12,
        num_classes=2,
        embedding_dim=4,
        units=0,
        dropout=0.0,
        mask=True,
        buckets=200,
        ngrams=3,
        pooling="mean",
        optimizer="lazy-adam",
    )
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 40, size=(16, 12)).astype("int32")
    ids[:, :5] = 0  # padding, and so n-grams touching it
    ids[:, 8] = ids[:, 7]  # a repeated id: NBSVM's distinct n-grams turn repeats into 0
    y = rng.integers(0, 2, size=(16,)).astype("float32")
    tables = []
    for skip in (False, True):
        keras().utils.set_random_seed(0)
        model = factories.build(spec, compile=False)
        if arch == "nbsvm":
            factories.fit_to_data(model, spec, ids, y)
        model.compile(optimizer=LazyAdam(0.01, skip_padding=skip), loss="binary_crossentropy")
        for _ in range(3):
            model.train_on_batch(ids, y)
        tables.append([np.asarray(w) for w in model.get_weights()])
        assert model.optimizer.get_config()["skip_padding"] is skip
    for plain, skipped in zip(*tables):
        assert np.array_equal(plain, skipped)
    # Not vacuous: the sparse path ran and moved the n-gram table.
    assert np.any(model.get_layer("embedding").get_weights()[0] != 0)
