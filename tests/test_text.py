import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncli.text import _MARKUP, _WORD, OOV, START, Encoder, Vocabulary, pad, reencode, spaced_lines, tokenize


def test_tokenize_lowercases_and_drops_markup_and_punctuation():
    assert tokenize("Great movie!<br /><br />I LOVED it, didn't you?") == [
        "great",
        "movie",
        "i",
        "loved",
        "it",
        "didn't",
        "you",
    ]


def test_tokenize_splits_numbers_like_keras_reuters_and_keeps_other_scripts():
    assert tokenize("1.15 dlrs, Reuter &#3;") == ["1", "15", "dlrs", "reuter", "3"]
    assert tokenize("정말 재미있는 영화") == ["정말", "재미있는", "영화"]
    assert tokenize("snake_case") == ["snake", "case"]


# Characters that decide where ASCII words start and end, plus a few runs of them.
_ASCII_PIECES = st.sampled_from(
    list("aZ09'_<>/ \t\n\x00\x1f-.!") + ["don't", "''", "<br />", "rock'n'roll", "'tis", "a'", "<a b"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ASCII_PIECES, max_size=40).map("".join))
def test_the_ascii_fast_path_finds_the_words_the_regex_finds(text):
    assert tokenize(text) == _WORD.findall(_MARKUP.sub(" ", text).lower())


def test_the_ascii_fast_path_agrees_with_the_regex_on_printable_ascii():
    text = "".join(map(chr, range(32, 127))) * 3 + " it's 'quoted' o''clock __init__ x'"
    assert tokenize(text) == _WORD.findall(_MARKUP.sub(" ", text).lower())
    # And a text with one non-ASCII character takes the regex path to the same words.
    assert tokenize(text + " café") == tokenize(text) + ["café"]


# Characters whose case or class is awkward: a final sigma, letters that lower-case into two
# characters or into ASCII, combining marks, curly apostrophes, line separators, a lone surrogate.
_UNICODE_PIECES = st.sampled_from(
    [*"ΣσςİǅÉé’…\u212a\u0301\u2028\x85\xa0\ud800", "ΟΔΟΣ", "café's", "don’t", "영화", "x’y", "١٢"]
)
_ANY_TEXT = st.lists(st.one_of(_ASCII_PIECES, _UNICODE_PIECES, st.text(max_size=3)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ANY_TEXT, min_size=1, max_size=6))
def test_spaced_lines_hold_the_words_the_regex_finds_text_by_text(texts):
    lines = spaced_lines(texts).split(b"\n")
    assert len(lines) == len(texts)
    for line, text in zip(lines, texts):
        expected = _WORD.findall(_MARKUP.sub(" ", text).lower())
        # Words are runs of bytes above the space (`rnncli.word_ids`): nothing else may be below.
        assert min(line, default=32) >= 32
        assert line.split() == [word.encode("utf-8") for word in expected]


def test_vocabulary_ranks_by_frequency_with_first_appearance_breaking_ties():
    vocab = Vocabulary.build([["b", "a", "c"], ["a", "c"], ["a"]])
    assert vocab.words == ("a", "c", "b")
    assert vocab.index() == {"a": 4, "c": 5, "b": 6}


def test_encode_follows_keras_datasets_conventions():
    vocab = Vocabulary.build([["the", "the", "the", "cat", "cat", "sat"]])
    # num_words=6 keeps ids below 6: "the" (4) and "cat" (5); "sat" (6) becomes OOV.
    encoder = Encoder(vocab, num_words=6)
    assert encoder.encode("The cat sat on") == [START, 4, 5, OOV, OOV]
    assert vocab.truncated(6).words == ("the", "cat")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(["the", "cat", "sat", "dog", ""]), max_size=12), max_size=8),
    st.integers(1, 10),
)
def test_encode_padded_is_encode_tokens_then_pad(token_lists, maxlen):
    encoder = Encoder(Vocabulary(("the", "cat", "sat")), num_words=6)
    expected = pad([encoder.encode_tokens(tokens) for tokens in token_lists], maxlen)
    got = encoder.encode_padded(token_lists, maxlen)
    assert got.dtype == np.int32 and got.shape == (len(token_lists), maxlen)
    np.testing.assert_array_equal(got, expected)


def test_reencode_maps_ids_past_num_words_to_oov():
    ids = np.array([[0, 1, 2, 4, 9, 10]])
    assert reencode(ids, 10).tolist() == [[0, 1, 2, 4, 9, OOV]]


@pytest.mark.parametrize("maxlen", [1, 3, 5, 8])
def test_pad_matches_keras_pad_sequences(maxlen):
    from rnncli.backend import keras

    sequences = [[1, 2, 3, 4, 5], [], [7], [1, 2, 3, 4, 5, 6, 7, 8, 9]]
    expected = keras().utils.pad_sequences(sequences, maxlen=maxlen)
    np.testing.assert_array_equal(pad(sequences, maxlen), expected)


def test_vocabulary_round_trips_through_json(tmp_path):
    vocab = Vocabulary(("영화", "the", "don't"))
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab


def test_token_spans_point_into_the_original_text():
    from rnncli.text import token_spans

    text = "Great<br />MOVIE, isn't it?"
    spans = token_spans(text)
    assert [token for _, _, token in spans] == tokenize(text)
    assert [text[a:b] for a, b, _ in spans] == ["Great", "MOVIE", "isn't", "it"]
