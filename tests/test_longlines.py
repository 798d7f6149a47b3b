"""Lines too long to hold: tokenised as they stream, with exactly the whole line's last tokens.

The property tests cut texts into random pieces and force cuts everywhere (a tiny `soft`), then
compare with `tokenize` on the whole text; the alphabets are made of what makes cutting hard:
markup, inner apostrophes, capital sigma (whose lower case depends on its neighbours), case-
ignorable marks, characters that lower-case to two, and long runs without a space.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncli.errors import InputError
from rnncli.longlines import HARD_CHARS, LINE_BYTES, TailTokens, char_kind, read_long_line
from rnncli.text import LONG_TOKEN_CHARS, Encoder, Vocabulary, token_key, tokenize

_HARD_TO_CUT = [
    *"aAbzΣσς '.:^`\u02b0\u0301\u00ad\u0130<>-_\x00\t\u24b6",
    "<b>",
    "</p>",
    "<a href='x y'>",
    "don't",
    "AΣ.",
    "Σ''",
    "'''",
    "a" * 40,
]
_NO_SPACES = [*"aΣ.'\u02b0\u0301\u0130b"]


def _streamed(text: str, cuts: list[int], soft: int, keep: int = 10**9, hard: int = 10**9) -> TailTokens:
    tail = TailTokens(keep=keep, soft=soft, hard=hard)
    last = 0
    for cut in sorted(set(cuts)) + [len(text)]:
        tail.feed(text[last:cut])
        last = cut
    tail.close()
    return tail


@st.composite
def _texts(draw, alphabet):
    pieces = draw(st.lists(st.sampled_from(alphabet), max_size=900))
    text = "".join(pieces)
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=12))
    return text, cuts


@settings(max_examples=300, deadline=None)
@given(case=st.one_of(_texts(_HARD_TO_CUT), _texts(_NO_SPACES)), soft=st.sampled_from([0, 40, 10**9]))
def test_streamed_tokens_are_the_whole_texts_tokens(case, soft):
    text, cuts = case
    tail = _streamed(text, cuts, soft)
    expected = [token_key(token) for token in tokenize(text)]
    assert list(tail.tokens) == expected and tail.count == len(expected)


@settings(max_examples=100, deadline=None)
@given(case=_texts(_HARD_TO_CUT), keep=st.integers(1, 20))
def test_only_the_last_tokens_are_kept(case, keep):
    text, cuts = case
    tail = _streamed(text, cuts, soft=0, keep=keep)
    expected = [token_key(token) for token in tokenize(text)]
    assert list(tail.tokens) == expected[-keep:] and tail.count == len(expected)


def test_the_stand_in_characters_are_what_the_cuts_assume():
    # CIRCLED LATIN CAPITAL LETTER A stands in for a cased neighbour: cased, not case-ignorable,
    # and never part of a word, so it changes no token.
    assert char_kind("\u24b6") == 1 and tokenize("\u24b6don't\u24b6") == ["don't"]
    assert [char_kind(c) for c in "'.\u0301\u02b0"] == [0, 0, 0, 0]  # case-ignorable
    assert [char_kind(c) for c in " ,\x00<"] == [2, 2, 2, 2]  # neither


def test_held_text_stays_bounded_on_runs_without_spaces():
    for run in ("a" * 3_000_000, "\u0301" * 3_000_000, "a'" * 1_500_000, "\x00" * 3_000_000):
        tail = TailTokens()
        for start in range(0, len(run), 100_000):
            tail.feed(run[start : start + 100_000])
            assert tail.held <= 2 * 64 * 1024 + 1024
        tail.close()
        assert list(tail.tokens) == [token_key(t) for t in tokenize(run)][-len(tail.tokens) :]


def test_an_open_capital_sigma_waits_at_most_hard_chars():
    # Whether this sigma is final depends on the first letter after a megabyte of marks: the one
    # thing not decided in bounded memory; the text held back stops growing at HARD_CHARS.
    tail = TailTokens()
    tail.feed("A\u03a3")
    for _ in range(40):
        tail.feed("." * 100_000)
        assert tail.held <= HARD_CHARS + 100_000
    tail.close()


def test_long_tokens_match_long_vocabulary_words_by_digest():
    long_word = "pneumonoultramicroscopicsilicovolcanoconiosis"
    assert len(long_word) > LONG_TOKEN_CHARS
    encoder = Encoder(Vocabulary(("film", long_word)), num_words=10)
    text = "film " * 300 + long_word.upper() + " zz " + "x" * 5000
    tail = _streamed(text, [1000, 1500, 1540], soft=0)
    assert encoder.encode_keys(list(tail.tokens)) == encoder.encode(text)
    assert encoder.encode_keys(list(tail.tokens))[-3:] == [5, 2, 2]  # the long word, zz, x...


def _line(stream: io.BytesIO, number: int = 1):
    def error(line: int, exc: UnicodeDecodeError) -> InputError:
        return InputError(f"line {line} byte {exc.start}")

    first = stream.readline(LINE_BYTES)
    return read_long_line(first, stream, number, error)


def test_a_long_line_keeps_its_head_and_last_tokens_and_stops_at_its_newline():
    body = "\ufeffGood film. " + "x" * (LINE_BYTES + 10) + " the END\r"
    stream = io.BytesIO((body + "\nnext line\n").encode("utf-8"))
    line = _line(stream)
    assert line == "Good film. " + "x" * (1024 - 11) + "\u2026"
    assert line.tokens == tuple(token_key(t) for t in tokenize(body.removeprefix("\ufeff")))
    assert line.count == 5 and stream.read() == b"next line\n"


def test_bad_utf8_deep_in_a_long_line_names_the_line_and_byte():
    data = b"a" * (LINE_BYTES + 70_000) + b"\xff" + b"b\n"
    with pytest.raises(InputError, match=f"line 7 byte {LINE_BYTES + 70_000}"):
        _line(io.BytesIO(data), number=7)
    # A character cut off by the end of the input is an error too.
    with pytest.raises(InputError, match=f"line 1 byte {LINE_BYTES + 5}"):
        _line(io.BytesIO(b"a" * (LINE_BYTES + 5) + "é".encode()[:1]))
