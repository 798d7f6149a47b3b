"""The n-gram ids of `layers.HashedNGrams`, computed with NumPy for `predict`.

The layer sorts each text's n-gram ids to keep every one once, and LiteRT's sort was most of an
n-gram model's inference time (0.80 s against 0.25 s without it for 10,000 IMDB reviews), where
NumPy sorts the same rows several times faster and releases the GIL while it does. So n-gram
runs also export their model from the n-gram ids on (`GRAMS_FILE`), and `predict` feeds it ids
made here. The arithmetic is the layer's, step for step (`tests/test_ngram_ids.py` checks them
against each other, and every export is checked against Keras through this function before it
is kept). Pure NumPy: the predict path never imports TensorFlow.
"""

from __future__ import annotations

import numpy as np

from rnncli.models.registry import ModelSpec

#: The export from the n-gram ids on, beside `model.tflite` (which takes word ids, for others).
GRAMS_FILE = "model.grams.tflite"
#: Runs of 4 and 5 ids keep their running hash below it (here and in `layers.HashedNGrams`).
HASH_MODULUS = 2_147_483_647


def keeps_distinct(spec: ModelSpec) -> bool:
    """Whether a `spec`'s n-gram layer keeps each id once per text (binary features): NBSVM and
    square-root pooling do; fastText's mean pooling counts repeats."""
    return spec.arch == "nbsvm" or spec.pooling == "sqrtn"


def hashed_ngrams(ids: np.ndarray, num_words: int, buckets: int, order: int, distinct: bool) -> np.ndarray:
    """`HashedNGrams(num_words, buckets, order, distinct)(ids)` for pre-padded id rows (int32).

    Row by row: the ids, then one id per run of 2 (3, 4, 5) neighbouring ids, 0 where a run
    touches padding; with `distinct`, sorted and each id after its first 0.
    """
    ids = np.asarray(ids, dtype=np.int64)
    parts = [ids]
    if buckets:
        first, second = ids[:, :-1], ids[:, 1:]
        real = (first > 0) & (second > 0)
        parts.append(np.where(real, num_words + (first * num_words + second) % buckets, 0))
        if order >= 3:
            third = ids[:, 2:]
            real = real[:, :-1] & (third > 0)
            mixed = (first[:, :-1] * 1_000_003 + second[:, :-1] * 7_919 + third) * 31 + 17
            parts.append(np.where(real, num_words + mixed % buckets, 0))
            running = mixed % HASH_MODULUS if order >= 4 else None
            for n in range(4, order + 1):
                following = ids[:, n - 1 :]
                running = (running[:, :-1] * 1_000_003 + following + n) % HASH_MODULUS
                real = real[:, :-1] & (following > 0)
                parts.append(np.where(real, num_words + running % buckets, 0))
    # Ids are below num_words + buckets, an embedding table's rows: int32 holds them, and
    # sorts 40% faster than int64.
    grams = np.concatenate(parts, axis=1).astype(np.int32)
    if distinct:
        grams.sort(axis=1)
        grams[:, 1:][grams[:, 1:] == grams[:, :-1]] = 0
    return grams
