"""The training pipelines: every epoch's batches, in order, from one `tf.data` iterator."""

from __future__ import annotations

import numpy as np
import pytest

from rnncli import batching
from rnncli.training.pipelines import all_epochs_batched


def _rows(count: int = 70, maxlen: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = np.zeros((count, maxlen), dtype=np.int32)
    for row, length in enumerate(rng.integers(1, maxlen, size=count)):
        x[row, maxlen - length :] = rng.integers(4, 50, size=length)
    return x, rng.integers(0, 2, size=count).astype(np.float32)


def test_one_pipeline_holds_each_remaining_epoch_shuffled_as_its_own_epoch_would_be():
    x, y = _rows()
    dataset = all_epochs_batched(x, y, 16, seed=7, first_epoch=2, last_epoch=5)
    steps = batching.steps(len(x), 16)
    got = [(bx.numpy(), by.numpy()) for bx, by in dataset]
    expected = [b for epoch in (2, 3, 4) for b in batching.iter_batches(x, y, 16, 7 + epoch)]
    assert len(got) == len(expected) == 3 * steps
    for (gx, gy), (ex, ey) in zip(got, expected):
        np.testing.assert_array_equal(gx, ex)
        np.testing.assert_array_equal(gy, ey)
    # Epochs differ: each is reshuffled with its own seed.
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(got[:steps], got[steps : 2 * steps]))


@pytest.mark.parametrize("mask", [True, False])
def test_fit_reads_steps_per_epoch_batches_an_epoch_from_the_one_pipeline(mask):
    from rnncli.backend import keras
    from rnncli.distribute import make
    from rnncli.models.registry import ModelSpec
    from rnncli.training.data import Arrays
    from rnncli.training.pipelines import choose_inputs

    x, y = _rows()
    arrays = Arrays(x_train=x, y_train=y, x_val=x[:20], y_val=y[:20], x_test=x[:20], y_test=y[:20])
    spec = ModelSpec(
        arch="lstm", num_words=50, maxlen=12, num_classes=2, embedding_dim=4, units=4, dropout=0.0, mask=mask
    )
    inputs = choose_inputs(arrays, spec, make("default", 16, False), seed=1, first_epoch=0, epochs=3)
    assert inputs.fit_args["steps_per_epoch"] == inputs.steps_per_epoch == batching.steps(len(x), 16)
    k = keras()
    model = k.Sequential(
        [
            k.Input((None,), dtype="int32"),
            k.layers.Embedding(50, 4, mask_zero=True),
            k.layers.GlobalAveragePooling1D(),
            k.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile("adam", "binary_crossentropy")
    seen = []
    count = k.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    history = model.fit(**inputs.fit_args, epochs=3, verbose=0, callbacks=[count])
    assert len(history.history["loss"]) == 3 and len(history.history["val_loss"]) == 3
    assert len(seen) == 3 * inputs.steps_per_epoch


def test_validation_and_test_batches_are_one_pass_in_order_of_length():
    from rnncli.training.pipelines import sorted_batched

    x, y = _rows()
    dataset = sorted_batched(x, y, 32)
    got = [(bx.numpy(), by.numpy()) for bx, by in dataset]
    expected = list(batching.iter_batches(x, y, 32, None))
    assert len(got) == len(expected) == batching.steps(len(x), 32)
    for (gx, gy), (ex, ey) in zip(got, expected):
        np.testing.assert_array_equal(gx, ex)
        np.testing.assert_array_equal(gy, ey)
    # The same pass however often Keras reads it (once an epoch for validation).
    again = [bx.numpy() for bx, _ in dataset]
    assert all(np.array_equal(a, b) for a, (b, _) in zip(again, got))
    assert list(sorted_batched(x[:0], y[:0], 32)) == []


def test_no_pipeline_starts_the_autotuning_thread_whose_wait_stalled_training():
    from rnncli.training.pipelines import all_epochs_padded, in_order_padded, length_batched, sorted_batched

    x, y = _rows()
    for dataset in (
        all_epochs_batched(x, y, 16, 1, 0, 2),
        all_epochs_padded(x, y, 16, 1, 0, 2),
        in_order_padded(x, y, 16),
        sorted_batched(x, y, 16),
        length_batched(x, y, 16, 1),
        length_batched(x, y, 16, None, cut=False),
    ):
        assert dataset.options().autotune.enabled is False


def test_unmasked_models_get_every_epoch_at_maxlen_shuffled_as_under_a_strategy():
    from rnncli.training.pipelines import all_epochs_padded, in_order_padded, length_batched

    x, y = _rows()
    got = [(bx.numpy(), by.numpy()) for bx, by in all_epochs_padded(x, y, 16, 7, 1, 3)]
    # The generator that strategies shard gives the same batches, epoch by epoch.
    expected = [
        b for epoch in (1, 2) for b in length_batched(x, y, 16, 7, first_epoch=epoch, cut=False).take(5)
    ]
    assert len(got) == len(expected) == 2 * batching.steps(len(x), 16)
    for (gx, gy), (ex, ey) in zip(got, expected):
        assert gx.shape[1] == x.shape[1]  # never cut: the book's arithmetic reads the padding
        np.testing.assert_array_equal(gx, ex.numpy())
        np.testing.assert_array_equal(gy, ey.numpy())
    rows = np.concatenate([gx for gx, _ in got[:5]])
    assert sorted(map(bytes, rows)) == sorted(map(bytes, x))  # each row once an epoch
    assert not np.array_equal(rows, x)  # shuffled
    ordered = np.concatenate([bx.numpy() for bx, _ in in_order_padded(x, y, 32)])
    np.testing.assert_array_equal(ordered, x)
