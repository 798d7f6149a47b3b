"""Text to integer sequences, with the conventions of `keras.datasets`.

The book's data arrive already encoded: 0 pads, 1 marks the start of a text, 2 stands for a
word outside the vocabulary, and a word of frequency rank r (1 = most frequent) is r + 3. We
encode raw text the same way, so that the book's models and figures carry over, and we save the
vocabulary beside every model so that predict encodes exactly as training did.

This module is pure Python and NumPy on purpose: `rnncli predict` encodes text without
importing TensorFlow, whose import alone costs seconds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from itertools import chain, repeat
from pathlib import Path

import numpy as np

from rnncli.errors import RunError

PAD = 0
START = 1
OOV = 2
INDEX_FROM = 3

#: Bumped whenever tokenising or ranking changes, so that caches and runs made with an older
#: scheme are rebuilt or refused rather than silently mis-encoded.
PREPROCESSING_VERSION = 1

#: Longest markup body blanked out (`rnncli.longlines` relies on markup being short).
MARKUP_MAX = 200
_MARKUP = re.compile(rf"<[^<>]{{0,{MARKUP_MAX}}}>")
# Letters and digits of any script (so Korean works), keeping inner apostrophes ("don't") as
# the IMDB word index does; everything else, punctuation and underscores included, separates.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


# The same rule for ASCII text, in C-speed passes instead of the regex engine (which costs
# about 50 µs an IMDB review, most of `predict`'s encoding): letters and digits lower-cased,
# every other byte but the apostrophe a space, then apostrophes not between two letters or
# digits spaced out too. `tests/test_text.py` checks it against `_WORD` on random ASCII.
_ASCII_WORD_BYTES = (
    bytes(ord(c.lower()) if c.isalnum() or c == "'" else ord(" ") for c in map(chr, range(128))) + b" " * 128
)
_LOOSE_APOSTROPHE = re.compile(r"'(?:(?<![a-z0-9]')|(?![a-z0-9]))")


def tokenize(text: str) -> list[str]:
    """Lower-case words with markup and punctuation removed."""
    if not text.isascii():
        return _WORD.findall(_MARKUP.sub(" ", text).lower())
    if "<" in text:
        text = _MARKUP.sub(" ", text)
    spaced = text.encode("ascii").translate(_ASCII_WORD_BYTES).decode("ascii")
    if "'" in spaced:
        spaced = _LOOSE_APOSTROPHE.sub(" ", spaced)
    return spaced.split()


# Markup as `_MARKUP` finds it, but never across the newline that separates two texts in
# `spaced_lines` (each text's own newlines are spaces by then, which `_MARKUP` matches).
_MARKUP_IN_LINE = re.compile(rf"<[^<>\n]{{0,{MARKUP_MAX}}}>")
# The ASCII rule with newlines kept, and UTF-8's bytes above 127 kept as word bytes: by then
# only letters and digits of other scripts are left (`_NON_ASCII_SEPARATOR`).
_LINE_BYTES = _ASCII_WORD_BYTES[:10] + b"\n" + _ASCII_WORD_BYTES[11:128] + bytes(range(128, 256))
#: Characters outside ASCII that `_WORD` splits at (every one but letters and digits).
_NON_ASCII_SEPARATOR = re.compile(r"[^\w\x00-\x7f]")
_LOOSE_APOSTROPHE_BYTES = re.compile(rb"'(?:(?<![a-z0-9\x80-\xff]')|(?![a-z0-9\x80-\xff]))")


def spaced_lines(texts: Sequence[str]) -> bytes:
    """`texts` as one line of UTF-8 each, their words (`tokenize`'s) separated by spaces only.

    The passes of `tokenize`'s ASCII rule, run once over a whole batch joined by newlines, so
    that `rnncli.word_ids` can find words and their ids with NumPy instead of one string per
    word. A batch with other scripts is lower-cased and has their separators blanked first
    (the regular expression then only tests characters, 2.5x faster than `_WORD.findall` on
    IMDB's non-ASCII reviews); keep such texts apart from ASCII ones, which skip both passes.
    """
    joined = "\n".join(text.replace("\n", " ") if "\n" in text else text for text in texts)
    if "<" in joined:
        joined = _MARKUP_IN_LINE.sub(" ", joined)
    if not joined.isascii():
        joined = _NON_ASCII_SEPARATOR.sub(" ", joined.lower())
    spaced = joined.encode("utf-8").translate(_LINE_BYTES)
    if b"'" in spaced:
        spaced = _LOOSE_APOSTROPHE_BYTES.sub(b" ", spaced)
    return spaced


def token_spans(text: str) -> list[tuple[int, int, str]]:
    """`(start, end, token)` for each token of `tokenize(text)`, as positions in `text` itself.

    Markup is blanked with spaces of the same length so positions stay those of the input; used
    to shade the user's own words when explaining a prediction.
    """
    blanked = _MARKUP.sub(lambda m: " " * len(m.group()), text)
    return [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(blanked)]


#: Tokens longer than this are known by a digest in lines too long to hold (`rnncli.longlines`),
#: which keep thousands of tokens; `Encoder.encode_keys` matches vocabulary words the same way.
LONG_TOKEN_CHARS = 32
#: Starts every digest key; no token contains it (it is not a word character).
LONG_TOKEN_MARK = "\x00"


def token_key(token: str) -> str:
    """`token` itself, or for a long one a short key that only the same token has."""
    if len(token) <= LONG_TOKEN_CHARS:
        return token
    return LONG_TOKEN_MARK + blake2b(token.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Vocabulary:
    """Words in order of frequency rank: `words[0]` has rank 1 and encodes as 4."""

    words: tuple[str, ...]

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], max_words: int | None = None) -> Vocabulary:
        """Rank words by frequency; ties keep the order of first appearance (stable sort)."""
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        ranked = [word for word, _ in counts.most_common(max_words)]
        return cls(tuple(ranked))

    def truncated(self, num_words: int) -> Vocabulary:
        """The words that `num_words` can encode: ids (rank + 3) below `num_words`."""
        return Vocabulary(self.words[: max(0, num_words - INDEX_FROM - 1)])

    def index(self) -> dict[str, int]:
        """Word to encoded id: rank + 3, ranks counted from 1 (so id 3 is never used, as in Keras)."""
        return {word: rank + INDEX_FROM for rank, word in enumerate(self.words, start=1)}

    def save(self, path: Path) -> None:
        from rnncli.atomic import atomic_write_text

        payload = {"preprocessing_version": PREPROCESSING_VERSION, "words": list(self.words)}
        atomic_write_text(path, json.dumps(payload, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
            words = payload["words"]
            version = payload.get("preprocessing_version")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(f"cannot read vocabulary {path}: {exc}") from exc
        if version != PREPROCESSING_VERSION:
            raise RunError(
                f"vocabulary {path} uses preprocessing version {version}, "
                f"this rnncli uses {PREPROCESSING_VERSION}",
                "retrain the model with this version",
            )
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise RunError(f"vocabulary {path} is malformed: 'words' must be a list of strings")
        return cls(tuple(words))


class Encoder:
    """Maps tokens to ids for one vocabulary and `num_words`, as `keras.datasets` does."""

    def __init__(self, vocabulary: Vocabulary, num_words: int) -> None:
        self.num_words = num_words
        self.vocabulary_words = vocabulary.truncated(num_words).words
        self._index = vocabulary.truncated(num_words).index()
        self._long_index: dict[str, int] | None = None

    @property
    def index(self) -> dict[str, int]:
        """Word to id for the words `num_words` keeps (read it, do not change it)."""
        return self._index

    def encode_tokens(self, tokens: Sequence[str]) -> list[int]:
        ids = [START]
        # `map` over `dict.get` measured about a third faster than a comprehension here.
        ids.extend(map(self._index.get, tokens, repeat(OOV, len(tokens))))
        return ids

    def encode(self, text: str) -> list[int]:
        return self.encode_tokens(tokenize(text))

    def encode_padded(self, token_lists: Sequence[Sequence[str]], maxlen: int) -> np.ndarray:
        """`pad([self.encode_tokens(t) for t in token_lists], maxlen)` in one pass over all tokens.

        No list of ids per text and no row-by-row copy: in `predict`'s batches of 1,024 IMDB
        reviews, 0.12 s against 0.15-0.20 s for that line over 10,000 reviews (one-off timing).
        """
        lengths = np.fromiter(map(len, token_lists), np.int64, len(token_lists))
        flat = chain.from_iterable(token_lists)
        ids = np.fromiter(map(self._index.get, flat, repeat(OOV)), np.int32, int(lengths.sum()))
        return place_after_start(ids, lengths, maxlen)

    def encode_keys(self, keys: Sequence[str]) -> list[int]:
        """`encode_tokens` for `token_key`s: long vocabulary words are matched by their digest."""
        if self._long_index is None:
            self._long_index = {token_key(w): i for w, i in self._index.items() if len(w) > LONG_TOKEN_CHARS}
        get, long_get = self._index.get, self._long_index.get
        return [START] + [
            long_get(key, OOV) if key.startswith(LONG_TOKEN_MARK) else get(key, OOV) for key in keys
        ]


def pad(sequences: Sequence[Sequence[int]], maxlen: int) -> np.ndarray:
    """`keras.utils.pad_sequences(sequences, maxlen)` with its defaults (pre-pad, pre-truncate).

    Written out because importing Keras imports TensorFlow (seconds), and the predict path must
    not; `tests/test_text.py` checks it against Keras.
    """
    out = np.zeros((len(sequences), maxlen), dtype=np.int32)
    for row, seq in enumerate(sequences):
        tail = seq[-maxlen:]
        if len(tail):
            out[row, maxlen - len(tail) :] = tail
    return out


def place_after_start(ids: np.ndarray, lengths: np.ndarray, maxlen: int) -> np.ndarray:
    """Rows of `[START, *ids of the row]`, pre-padded and pre-truncated to `maxlen` as `pad` does;
    `ids` holds every row's ids one after another, `lengths` how many each row has."""
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros((len(lengths), maxlen), dtype=np.int32)
    # Each id's place counted from its row's end (1: the last), then its cell's flat index: one
    # 1-D store instead of a 2-D fancy one (a third of the time on 1,024 IMDB reviews).
    from_end = np.repeat(np.cumsum(lengths), lengths) - np.arange(len(ids))
    cells = np.repeat(np.arange(1, len(lengths) + 1) * maxlen, lengths) - from_end
    if len(lengths) and lengths.max() > maxlen:
        kept = from_end <= maxlen
        cells, ids = cells[kept], ids[kept]
    out.reshape(-1)[cells] = ids
    whole = np.flatnonzero(lengths < maxlen)  # rows that keep their START
    out[whole, maxlen - 1 - lengths[whole]] = START
    return out


def reencode(ids: np.ndarray, num_words: int) -> np.ndarray:
    """Map ids that `num_words` cannot hold to OOV (ids are rank + 3 from a full vocabulary)."""
    return np.where(ids >= num_words, OOV, ids).astype(np.int32)
