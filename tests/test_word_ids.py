"""Batches encoded with NumPy (`rnncli.word_ids`) get exactly the ids text-by-text encoding gives."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncli.text import Encoder, Vocabulary, tokenize
from rnncli.word_ids import KEY_BYTES, WordIds
from tests.conftest import DATA, needs_imdb


def _by_text(encoder: Encoder, texts: list[str], maxlen: int) -> np.ndarray:
    return encoder.encode_padded([tokenize(text) for text in texts], maxlen)


#: Words on both sides of the 8-byte key, markup, apostrophes, newlines, other scripts (and
#: their capitals, curly apostrophes, separators).
_PIECES = st.sampled_from(
    [
        *"aZ09'_<>/ \t\n-.!",
        "don't",
        "<br />",
        "<a\nb>",
        "rock'n'roll",
        "abcdefgh",
        "abcdefghi",
        "Abcdefgh",
        "abcdefghijklmnop",
        "abcdefghijklmnopq",
        "café",
        "CAFÉ",
        "영화",
        "don’t",
        "…",
        "\u2028",
        "the",
        "unknownword",
    ]
)
_VOCABULARY = Vocabulary(
    ("the", "a", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "abcdefghijklmnopq", "don't", "rock'n'roll")
    + ("café", "영화", "br", "9", "z")
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=30).map("".join), min_size=1, max_size=12), st.integers(1, 40))
def test_batches_get_the_ids_each_text_gets_alone(texts, maxlen):
    for num_words in (8, 100):  # part of the vocabulary, all of it
        encoder = Encoder(_VOCABULARY, num_words)
        got = WordIds(encoder.index).encode_padded(texts, maxlen)
        np.testing.assert_array_equal(got, _by_text(encoder, texts, maxlen))


def test_markup_does_not_reach_from_one_text_into_the_next():
    encoder = Encoder(_VOCABULARY, 100)
    texts = ["the <a", "b> the", "x<br\n/>the", "<" + "a" * 250 + ">the"]
    got = WordIds(encoder.index).encode_padded(texts, 10)
    np.testing.assert_array_equal(got, _by_text(encoder, texts, 10))


def test_empty_batches_texts_and_vocabularies():
    encoder = Encoder(_VOCABULARY, 100)
    assert WordIds(encoder.index).encode_padded([], 5).shape == (0, 5)
    np.testing.assert_array_equal(WordIds(encoder.index).encode_padded(["", " !"], 3), [[0, 0, 1], [0, 0, 1]])
    empty = Encoder(Vocabulary(()), 100)
    got = WordIds(empty.index).encode_padded(["the x", "a"], 4)
    np.testing.assert_array_equal(got, [[0, 1, 2, 2], [0, 0, 1, 2]])


def test_a_crowded_table_still_finds_every_word():
    """Thousands of words of 1-17 bytes that share their first bytes: probing must reach each."""
    words = tuple("".join(p) for n in (1, 2, 3) for p in itertools.product("abcdefghijklmnopqrstu", repeat=n))
    # Suffixes of letters the words above lack, so no two words are the same: 6-17 bytes long,
    # on both sides of a half key (8) and of the whole key (16).
    words += tuple(w + ("vwxyz" * 3)[:k] for k in (5, 6, 13, 14) for w in words[::7])
    encoder = Encoder(Vocabulary(words), len(words) + 4)
    texts = [" ".join(words[i : i + 50]) for i in range(0, len(words), 50)]
    got = WordIds(encoder.index).encode_padded(texts, 60)
    np.testing.assert_array_equal(got, _by_text(encoder, texts, 60))
    assert (got > 3).sum() == len(words) and not (got == 2).any()  # every word found
    assert {len(w) for w in words} >= {8, 9, KEY_BYTES, KEY_BYTES + 1}


def test_the_most_frequent_of_words_sharing_a_slot_holds_it():
    """Ties for a slot go to the lower rank, so the words most texts hold are found at once."""
    words = tuple("".join(p) for n in (1, 2, 3) for p in itertools.product("abcdefghijklmnopqrstu", repeat=n))
    table = WordIds(Encoder(Vocabulary(words), len(words) + 4).index)
    keys = np.array([np.frombuffer(w.encode().ljust(16, b"\0"), "<u8") for w in words], dtype=np.uint64)
    homes = table._slots(keys[:, 0], keys[:, 1])
    holder = table._ids[homes]  # the id in each word's own slot
    ids = np.arange(len(words)) + 4
    # Each word is either in its own slot or displaced by a more frequent word (a lower id)...
    assert ((holder == ids) | (holder < ids)).all()
    # ...and some words did share a slot, so the order mattered.
    assert (holder != ids).any()


@needs_imdb
def test_real_reviews_get_the_same_ids():
    from rnncli.data.imdb import _iter_reviews

    reviews = itertools.islice(_iter_reviews(DATA / "aclImdb_v1.tar.gz"), 6000)
    texts = [raw.decode("utf-8") for name, raw in reviews if name.endswith(".txt")][:3000]
    assert len(texts) == 3000 and any(not text.isascii() for text in texts)
    encoder = Encoder(Vocabulary.build(map(tokenize, texts[:1500])), 5000)
    ids = WordIds(encoder.index)
    for maxlen in (100, 1000):
        np.testing.assert_array_equal(ids.encode_padded(texts, maxlen), _by_text(encoder, texts, maxlen))


def test_words_no_tokenizer_makes_are_left_out_without_shifting_the_others():
    """A hand-edited vocab.json may hold an empty word or one with a space or control byte."""
    vocabulary = Vocabulary(("the", "a b", "", "film", "x\x1fy", "good"))
    encoder = Encoder(vocabulary, 100)
    texts = ["the film a b x y good", "good film"]
    got = WordIds(encoder.index).encode_padded(texts, 9)
    np.testing.assert_array_equal(got, _by_text(encoder, texts, 9))
    assert got[1].tolist()[-2:] == [encoder.index["good"], encoder.index["film"]]


@pytest.mark.parametrize(
    "words",
    [
        ("the", "movie "),  # a trailing space: one run of bytes, but not the whole word
        ("", "a b", "c"),  # an empty word and a split word: as many runs as words
        ("a", "a\x00"),  # a control byte: the same first bytes as another word
        ("\ud800", "good", "x\ud800y"),  # lone surrogates (JSON can hold them)
        ("the\nend", "the", "end"),
    ],
)
def test_odd_vocabulary_words_never_move_another_words_id(words):
    encoder = Encoder(Vocabulary(words), 100)
    texts = ["movie the a b", "c z y x good", "a the end", "x y"]
    got = WordIds(encoder.index).encode_padded(texts, 8)
    np.testing.assert_array_equal(got, _by_text(encoder, texts, 8))
