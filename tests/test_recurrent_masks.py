"""Masked recurrent layers get right-padded masks (cuDNN's condition) and the outputs stay the same.

No GPU is needed: the masks are read where Keras would hand them to cuDNN (`backend.lstm` and
`backend.gru`, which the layers call first and which give up on a machine without a GPU), and the
checks are the two that Keras' cuDNN path asserts.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnncli.models import factories
from rnncli.models.registry import ModelSpec
from rnncli.text import Encoder, Vocabulary

MAXLEN = 40
RECURRENT = [("lstm", "luong"), ("gru", "luong"), ("bilstm", "luong"), ("attention", "luong"),
             ("attention", "pool"), ("cnn-lstm", "luong")]  # fmt: skip


def _rows() -> np.ndarray:
    """Rows as rnncli encodes texts: empty, short, exactly `MAXLEN` and longer (pre-truncated)."""
    words = [f"w{i}" for i in range(60)]
    encoder = Encoder(Vocabulary(tuple(words)), num_words=50)
    rng = np.random.default_rng(3)
    texts = [[], ["w1"], ["w2", "w70"], *([list(rng.choice(words, n)) for n in (5, 17, 38, 39, 60)])]
    return encoder.encode_padded(texts, MAXLEN)


def _spec(arch: str, attention: str) -> ModelSpec:
    return ModelSpec(
        arch=arch, num_words=50, maxlen=MAXLEN, embedding_dim=8, units=6, dropout=0.1, mask=True,
        num_classes=3, attention=attention,
    )  # fmt: skip


def _right_padded_and_never_empty(mask: np.ndarray) -> bool:
    """Keras' `_assert_valid_mask` for cuDNN: each row is True then False, with at least one True."""
    real = mask.sum(axis=1)
    return bool((real >= 1).all()) and bool((mask == (np.arange(mask.shape[1]) < real[:, None])).all())


@pytest.mark.parametrize(("arch", "attention"), RECURRENT)
def test_every_masked_recurrent_layer_is_given_a_mask_that_cudnn_accepts(monkeypatch, arch, attention):
    from keras.src import backend

    seen: list[np.ndarray] = []

    def recording(position: int):
        def kernel(*args, **kwargs):
            seen.append(np.asarray(args[position]))
            raise NotImplementedError  # what Keras does without a GPU: the generic kernel runs

        return kernel

    # backend.lstm(inputs, state_h, state_c, mask, ...) and backend.gru(inputs, state, mask, ...)
    monkeypatch.setattr(backend, "lstm", recording(3))
    monkeypatch.setattr(backend, "gru", recording(2))
    model = factories.build(_spec(arch, attention))
    model(_rows(), training=False)
    assert seen, "no recurrent layer asked for the cuDNN kernel"
    assert len(seen) == (2 if arch == "bilstm" else 1)  # both directions of the bidirectional
    for mask in seen:
        assert _right_padded_and_never_empty(mask), mask.astype(int)


@pytest.mark.parametrize(("arch", "attention"), RECURRENT)
def test_right_padding_the_masks_changes_no_output(monkeypatch, arch, attention):
    spec = _spec(arch, attention)
    model = factories.build(spec)
    with monkeypatch.context() as patch:  # the same model as before the change: masks pre-padded
        patch.setattr(factories, "_recurrent", lambda spec, layer, x: layer(x))
        before = factories.build(spec)
    assert {"right_padded"} <= {layer.name for layer in model.layers}
    assert not {"right_padded", "pre_padded"} & {layer.name for layer in before.layers}
    before.set_weights(model.get_weights())
    rows = _rows()
    np.testing.assert_allclose(model.predict(rows, verbose=0), before.predict(rows, verbose=0), atol=1e-6)


def test_pre_padded_undoes_right_padded_and_its_mask():
    from rnncli.backend import keras
    from rnncli.models.layers import PrePadded, RightPadded

    rows = _rows()
    mask = rows != 0
    values = np.random.default_rng(0).normal(size=(*rows.shape, 3)).astype("float32")
    moved = RightPadded()(values, mask=mask)
    moved_mask = np.asarray(RightPadded().compute_mask(values, mask))
    assert _right_padded_and_never_empty(moved_mask)
    for row in range(len(rows)):  # the real steps, in order, now come first
        real = int(mask[row].sum())
        np.testing.assert_array_equal(np.asarray(moved)[row, :real], values[row, mask[row]])
    back = PrePadded()(moved, mask=moved_mask)
    np.testing.assert_array_equal(np.asarray(back), values)
    np.testing.assert_array_equal(np.asarray(PrePadded().compute_mask(moved, moved_mask)), mask)
    assert keras().ops.all(RightPadded()(values) == values)  # no mask: nothing to move
