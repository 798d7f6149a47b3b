"""Word ids for whole batches of texts, found with NumPy: `predict`'s encoding for `words` runs.

Tokenising text by text and looking each word up in a dict makes a Python string and a dict
lookup per word: 0.38 s of the 0.95 s that `predict` spent on 10,000 IMDB reviews before the
model. Here a batch becomes one byte string (`text.spaced_lines`, the same rule as
`text.tokenize`), its words are found as runs of bytes, and each word of up to 16 bytes is
looked up as the two 64-bit integers its bytes spell, in an open-addressing table: exact, since
no two such words spell the same pair. Longer words (a few in a thousand, and words of other
scripts past 16 bytes of UTF-8) go through the dict. The same ids as text-by-text encoding
(`tests/test_word_ids.py`), in a fraction of the time (docs/performance.md). No library does
this without TensorFlow (Keras' `StringLookup` needs it), which `predict` must not import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rnncli.text import OOV, place_after_start, spaced_lines

#: Words of up to this many bytes are matched as two unsigned 64-bit integers.
KEY_BYTES = 16
_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: 2**64 / golden ratio
_SECOND = np.uint64(0xC2B2AE3D27D4EB4F)  # mixes the second half in (a large odd constant)


class WordIds:
    """Encodes batches as `Encoder.encode_padded` does, for one vocabulary index."""

    def __init__(self, index: Mapping[str, int]) -> None:
        self.index = index
        words = list(index)
        ids = np.fromiter(index.values(), np.int32, len(words))
        # "surrogatepass": a lone surrogate (legal in JSON) is bytes above the space like any
        # letter; no text's word holds one, so such a word just never matches.
        joined = "\n".join(words).encode("utf-8", "surrogatepass")
        starts, ends, first, second = _word_keys(joined)
        if not _one_word_a_line(joined, starts, ends, len(words)):
            # An empty word, or one holding a byte at or below the space (no tokenizer makes
            # them; a hand-edited vocab.json might): no text's word can match it, so leave it out.
            whole = [i for i, word in enumerate(words) if _whole_word(word)]
            ids = ids[whole]
            joined = "\n".join(words[i] for i in whole).encode("utf-8", "surrogatepass")
            starts, ends, first, second = _word_keys(joined)
        short = ends - starts <= KEY_BYTES  # longer words are found through `index` itself
        self._bits = max(4, (2 * int(short.sum()) - 1).bit_length())  # at most half full
        self._first = np.zeros(1 << self._bits, dtype=np.uint64)  # 0: empty (words are not empty)
        self._second = np.zeros(1 << self._bits, dtype=np.uint64)
        self._ids = np.full(1 << self._bits, OOV, dtype=np.int32)
        self._insert(first[short], second[short], ids[short])

    def _slots(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return ((first * _MULTIPLIER + second * _SECOND) >> np.uint64(64 - self._bits)).astype(np.int64)

    def _insert(self, first: np.ndarray, second: np.ndarray, ids: np.ndarray) -> None:
        """Linear probing, all keys at once: each round a key takes its slot if that is empty and
        no earlier key (a more frequent word) wants it in the same round, else moves one slot on
        (as `_lookup` will). Frequent words first: most of a text's words then sit where their
        hash points, and far fewer lookups probe on (on IMDB reviews 30% of the words did when
        any contender could win a slot)."""
        pending, slots = np.arange(len(first)), self._slots(first, second)
        owner = np.full(len(self._ids), len(first), dtype=np.int64)
        while len(pending):
            free = self._first[slots] == 0
            np.minimum.at(owner, slots[free], pending[free])
            placed = free & (owner[slots] == pending)
            taken, keys = slots[placed], pending[placed]
            self._first[taken], self._second[taken], self._ids[taken] = first[keys], second[keys], ids[keys]
            pending, slots = pending[~placed], (slots[~placed] + 1) & (len(self._ids) - 1)

    def _lookup(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Ids of the words whose two keys are given (OOV for words not in the table)."""
        slots = self._slots(first, second)
        found = self._first[slots]
        hit = (found == first) & (self._second[slots] == second)
        out = np.where(hit, self._ids[slots], OOV).astype(np.int32)
        todo = np.flatnonzero((found != 0) & ~hit)  # a word in another's slot: probe on
        while len(todo):
            slots[todo] = (slots[todo] + 1) & (len(self._ids) - 1)
            found = self._first[slots[todo]]
            hit = (found == first[todo]) & (self._second[slots[todo]] == second[todo])
            out[todo[hit]] = self._ids[slots[todo[hit]]]
            todo = todo[(found != 0) & ~hit]
        return out

    def encode_padded(self, texts: Sequence[str], maxlen: int) -> np.ndarray:
        """Rows of `[START, *word ids]`, pre-padded and pre-truncated to `maxlen`."""
        if not texts:
            return np.zeros((0, maxlen), dtype=np.int32)
        ascii_rows = [text.isascii() for text in texts]
        if all(ascii_rows):
            spaced = spaced_lines(texts)
        else:
            # Texts with other scripts take two more passes (`spaced_lines`): made apart, then
            # put back in their rows.
            blanked = [text if plain else "" for text, plain in zip(texts, ascii_rows)]
            lines = spaced_lines(blanked).split(b"\n")
            others = [row for row, plain in enumerate(ascii_rows) if not plain]
            for row, line in zip(others, spaced_lines([texts[row] for row in others]).split(b"\n")):
                lines[row] = line
            spaced = b"\n".join(lines)
        starts, ends, first, second = _word_keys(spaced)
        ids = self._lookup(first, second)
        long_words = np.flatnonzero(ends - starts > KEY_BYTES)
        if len(long_words):
            get = self.index.get
            bounds = zip(starts[long_words].tolist(), ends[long_words].tolist())
            ids[long_words] = [get(spaced[a:b].decode("utf-8"), OOV) for a, b in bounds]
        # Words per line: where each line's newline falls among the word starts.
        ends_of_lines = np.append(np.searchsorted(starts, _line_breaks(spaced)), len(starts))
        return place_after_start(ids, np.diff(ends_of_lines, prepend=0), maxlen)


def _whole_word(word: str) -> bool:
    encoded = word.encode("utf-8", "surrogatepass")
    return bool(encoded) and min(encoded) > 32


def _one_word_a_line(joined: bytes, starts: np.ndarray, ends: np.ndarray, count: int) -> bool:
    """Whether each of the `count` lines of `joined` is exactly one word, from start to end: then
    the words found are the vocabulary's, in its order, and line i's id is word i's."""
    if len(starts) != count:
        return False
    newlines = _line_breaks(joined)
    line_starts = np.concatenate([[0], newlines + 1])
    line_ends = np.append(newlines, len(joined))
    return len(newlines) == count - 1 and bool((starts == line_starts).all() and (ends == line_ends).all())


def _line_breaks(data: bytes) -> np.ndarray:
    return np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)


def _word_keys(spaced: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Start and end of each word (a run of bytes above the space) in `spaced`, and its bytes
    0-7 and 8-15 as two integers (little-endian, zero past its end)."""
    padded = np.frombuffer(spaced + b"\n" * (KEY_BYTES + 1), dtype=np.uint8)
    inside = padded > 32
    edges = np.flatnonzero(inside[1:] != inside[:-1]) + 1
    if inside[0]:
        edges = np.concatenate([[0], edges])
    starts, ends = edges[0::2], edges[1::2]
    lengths = ends - starts
    # Every byte offset read as an unaligned 64-bit integer: one gather per half word, no loop.
    at_offset = np.ndarray((len(padded) - 7,), np.dtype("<u8"), padded, 0, (1,))
    first = at_offset[starts] & _MASKS[np.minimum(lengths, 8)]
    # Bytes 8-15 (not np.clip, 3x slower for these arrays).
    second = at_offset[starts + 8] & _MASKS[np.minimum(np.maximum(lengths, 8), 16) - 8]
    return starts, ends, first, second
