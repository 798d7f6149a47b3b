"""The NumPy n-gram ids `predict` feeds an n-gram run's grams export equal the Keras layer's."""

from __future__ import annotations

import numpy as np
import pytest

from rnncli.models.layers import HashedNGrams
from rnncli.models.ngram_ids import hashed_ngrams, keeps_distinct
from rnncli.models.registry import ModelSpec


def _rows(seed: int, num_words: int, width: int = 40) -> np.ndarray:
    """Pre-padded rows as rnncli encodes them: empty, short, full, and with the highest ids."""
    rng = np.random.RandomState(seed)
    rows = rng.randint(1, num_words, size=(9, width)).astype(np.int32)
    for row, padding in enumerate([0, 5, width, width - 1, width - 2, 1, 2, 3, 0]):
        rows[row, :padding] = 0
    rows[-1] = num_words - 1  # the largest products the hashes make
    rows[2:4, -2:] = [7, 7]  # a text of one repeated word
    return rows


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("distinct", [True, False])
def test_numpy_ngram_ids_equal_the_keras_layer(order, distinct):
    for num_words, buckets in ((500, 1000), (40_000, 2_000_000), (300_000, 10_000_000)):
        buckets = buckets if order > 1 else 0
        rows = _rows(order, num_words)
        expected = np.asarray(HashedNGrams(num_words, buckets, order, distinct)(rows))
        got = hashed_ngrams(rows, num_words, buckets, order, distinct)
        assert got.dtype == np.int32 and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_distinct_ids_are_kept_once_and_padding_adds_none():
    rows = np.array([[0, 0, 5, 6, 5, 6, 5, 6]], dtype=np.int32)
    grams = hashed_ngrams(rows, 10, 100, 2, distinct=True)
    real = grams[grams > 0]
    assert len(real) == len(set(real.tolist())) == 4  # 5, 6, (5 6), (6 5)
    counted = hashed_ngrams(rows, 10, 100, 2, distinct=False)
    assert (counted > 0).sum() == 6 + 5  # every id and every pair, padding's pairs 0


def test_which_specs_keep_each_id_once():
    assert keeps_distinct(ModelSpec("nbsvm", 50, 10, 2, 1, 0, 0.0, buckets=10, mask=True))
    assert keeps_distinct(ModelSpec("fasttext", 50, 10, 2, 8, 0, 0.0, buckets=10, pooling="sqrtn"))
    assert not keeps_distinct(ModelSpec("fasttext", 50, 10, 2, 8, 0, 0.0, buckets=10, pooling="mean"))
