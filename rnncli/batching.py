"""Batches of texts of similar length, for models that mask their padding.

Most reviews are far shorter than `maxlen`, so padding every batch to `maxlen` spends most of
the recurrent steps on zeros. Masked models give the same output however much padding a text
carries, so each batch is cut to its longest text instead. Lengths are rounded so that a
batch's width is congruent to `maxlen` modulo 4 and leaves a few pads before the longest text,
which keeps cnn-lstm's convolution and pooling grid identical to what `maxlen` padding gives (see
`MaskedMaxPooling1D`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

ALIGN = 4
MIN_WIDTH = 8
#: Pads kept before every text: cnn-lstm's first convolution windows straddle the padding, and
#: with at least kernel_size - 1 pads they read the same whatever the batch's width.
PAD_CONTEXT = 4
#: Texts are shuffled, then sorted by length within windows of this many batches, so batches
#: stay random in composition across epochs while their members have similar lengths.
WINDOW_BATCHES = 50


def lengths_of(x: np.ndarray) -> np.ndarray:
    """Real tokens per pre-padded row (ids are never 0 except for padding)."""
    return np.count_nonzero(x, axis=1)


def width_for(length: int, maxlen: int) -> int:
    """Smallest width >= length + PAD_CONTEXT and MIN_WIDTH, = maxlen (mod ALIGN), at most maxlen."""
    needed = max(int(length) + PAD_CONTEXT, min(MIN_WIDTH, maxlen))
    width = maxlen - ((maxlen - needed) // ALIGN) * ALIGN
    return min(width, maxlen)


def plan(lengths: np.ndarray, batch_size: int, seed: int | None) -> list[np.ndarray]:
    """Row indices of each batch; shuffled with `seed`, or in sorted order when `seed` is None."""
    if seed is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(lengths))
    window = batch_size * WINDOW_BATCHES
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def iter_batches(
    x: np.ndarray, y: np.ndarray | None, batch_size: int, seed: int | None
) -> Iterator[tuple[np.ndarray, np.ndarray] | np.ndarray]:
    """Yield `(x_batch, y_batch)` (or `x_batch`) cut to each batch's width."""
    maxlen = x.shape[1]
    lengths = lengths_of(x)
    for rows in plan(lengths, batch_size, seed):
        width = width_for(lengths[rows].max(), maxlen)
        xb = x[rows, maxlen - width :]
        yield (xb, y[rows]) if y is not None else xb


def steps(count: int, batch_size: int) -> int:
    return -(-count // batch_size)
