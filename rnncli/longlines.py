"""Lines too long to hold: their last tokens, exactly as `tokenize` gives them for the whole line.

`predict` reads a line of up to `LINE_BYTES` whole. A longer one (a runaway pipe, `/dev/zero`, a
file without newlines) is read in pieces and tokenised as it streams, keeping only its last
`TAIL_TOKENS` tokens: a model sees at most its last `maxlen` tokens, so those decide the answer.

Why tokenise incrementally rather than keep the line's last N characters: no number of trailing
characters is sure to hold `maxlen` tokens (a megabyte of spaces or NUL bytes after the words
would push every word out), so only counting tokens makes the answer the one the whole line
gives, with memory bounded by the token count.

The line is cut into segments that are tokenised on their own, and the cuts are chosen so that
the segments' tokens are exactly the whole line's:

* never inside markup (`<...>`, at most `MARKUP_SPAN` characters, which `tokenize` blanks out);
  the segment is cut only `LOOKAHEAD` characters before the text read so far ends, so markup is
  always seen whole;
* a token that straddles a cut (letters on both sides, or an inner apostrophe as in "don't") is
  joined again from its two halves;
* `str.lower` is character by character except for capital sigma, which becomes final "ς" or
  "σ" depending on the nearest letters around it, skipping case-ignorable characters. Each
  segment is lowered with one stand-in character on each side that is cased or not as the real
  neighbour is, so every sigma near a cut gets the form it gets in the whole line.

Ordinary text is cut at whitespace or punctuation, which needs none of the stand-ins. One case
cannot be decided in bounded memory: a capital sigma followed by more than `HARD_CHARS`
case-ignorable characters (combining marks, apostrophes, periods...) without a letter or space;
it is then lowered as if the line ended there.

Tokens longer than `LONG_TOKEN_CHARS` are kept as a digest (`text.token_key`), so a megabyte-long
"word" costs a few bytes and still matches a vocabulary word of the same text.
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Callable
from functools import lru_cache
from hashlib import blake2b
from typing import BinaryIO

from rnncli.errors import RnncliError
from rnncli.text import _MARKUP, _WORD, LONG_TOKEN_CHARS, LONG_TOKEN_MARK, MARKUP_MAX, token_key

#: Lines up to this many bytes are read whole; longer ones stream through `TailTokens`.
LINE_BYTES = 2 * 1024 * 1024
#: Bytes read at a time from an over-long line.
PIECE_BYTES = 64 * 1024
#: Tokens kept from the end of an over-long line: enough for any model's `maxlen` up to this.
TAIL_TOKENS = 32_768
#: Characters of an over-long line echoed back (`--json` "text"), followed by "…".
HEAD_CHARS = 1024
#: Longest markup `tokenize` blanks out, and how far behind the text read so far a cut stays.
MARKUP_SPAN = MARKUP_MAX + 2
LOOKAHEAD = MARKUP_SPAN + 2
#: Text held back while no cut at whitespace or punctuation is possible; past this a cut is
#: chosen among letters and marks instead (`SOFT_CHARS`), and past `HARD_CHARS` whatever happens.
SOFT_CHARS = 64 * 1024
HARD_CHARS = 1024 * 1024

_SIGMA = "\u03a3"
_FINAL = "\u03c2"
_IGNORABLE, _CASED, _PLAIN = 0, 1, 2
#: What a cased neighbour and an uncased one look like to `str.lower` at a segment's edge: a cased
#: symbol that is not a word character (CIRCLED LATIN CAPITAL LETTER A), or nothing at all.
_STAND_IN = {_CASED: "\u24b6", _PLAIN: ""}
_WORD_CHAR = re.compile(r"[^\W_]")


@lru_cache(maxsize=4096)
def char_kind(char: str) -> int:
    """`_CASED`, `_PLAIN` (neither cased nor case-ignorable) or `_IGNORABLE`, as `str.lower` sees it.

    Python has no API for the two Unicode properties its final-sigma rule uses, so they are read
    off that rule itself: sigma after a cased character is final, after a case-ignorable one
    the rule looks further back.
    """
    if (char + _SIGMA).lower().endswith(_FINAL):
        return _CASED
    if ("A" + char + _SIGMA).lower().endswith(_FINAL):
        return _IGNORABLE
    return _PLAIN


def _hard_characters() -> str:
    """Whitespace and punctuation where a cut needs no care: not part of words, not cased, not
    case-ignorable."""
    candidates = [chr(i) for i in range(0x100)] + list("\u1680\u2028\u2029\u202f\u205f\u3000")
    candidates += [chr(i) for i in range(0x2000, 0x200B)]
    return "".join(c for c in candidates if c != "'" and not _WORD_CHAR.match(c) and char_kind(c) == _PLAIN)


#: Matches up to the last hard character in the text it is given.
_LAST_HARD = re.compile("(?s:.*)[" + re.escape(_hard_characters()) + "]")


class _Carry:
    """A token that continues past a cut: its text, or a running digest once it is long."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.digest = None

    def add(self, piece: str) -> None:
        if self.digest is None and len(self.text) + len(piece) <= LONG_TOKEN_CHARS:
            self.text += piece
            return
        if self.digest is None:
            self.digest = blake2b(self.text.encode("utf-8"), digest_size=16)
        self.digest.update(piece.encode("utf-8"))

    def key(self) -> str:
        return self.text if self.digest is None else LONG_TOKEN_MARK + self.digest.hexdigest()


class TailTokens:
    """The last `keep` tokens (as `token_key`s) of a text fed piece by piece, and their count."""

    def __init__(self, keep: int = TAIL_TOKENS, soft: int = SOFT_CHARS, hard: int = HARD_CHARS) -> None:
        self.tokens: deque[str] = deque(maxlen=keep)
        self.count = 0
        self.soft = soft
        self.hard = hard
        self._pending = ""
        self._prefix = ""  # stand-in for the last non-ignorable character before `_pending`
        self._carry: _Carry | None = None
        self._joint = ""  # what joins the carried token to its continuation: "" or "'"

    def feed(self, text: str) -> None:
        for start in range(0, len(text), PIECE_BYTES):
            self._pending += text[start : start + PIECE_BYTES]
            while len(self._pending) > LOOKAHEAD + 2 and self._cut():
                pass

    @property
    def held(self) -> int:
        """Characters fed but not tokenised yet: bounded by about `soft` + `PIECE_BYTES`, or
        `hard` while a capital sigma's form is open."""
        return len(self._pending)

    def close(self) -> None:
        """The text has ended: tokenise what is left."""
        self._segment(len(self._pending), "", None)
        self._pending = ""

    # -- choosing where to cut -------------------------------------------------------------

    def _cut(self) -> bool:
        """Tokenise a leading part of the pending text if a safe cut exists; False if none yet."""
        pending = self._pending
        limit = len(pending) - LOOKAHEAD
        hard = _LAST_HARD.match(pending, 0, limit + 1)
        if hard is not None:
            cut = self._outside_markup(hard.end() - 1)
            if cut >= 2:
                # Whitespace or punctuation: sigma's context stops there on both sides.
                self._segment(cut, "", "")
                return True
        if len(pending) < self.soft:
            return False
        solid = _last_solid(pending, limit, 2)
        if solid >= 2:
            cut = self._outside_markup(solid)
            if cut < 2:
                return False
            after = _STAND_IN[char_kind(pending[cut])]
            before = _last_solid(pending, cut - 1, 0)
            self._segment(cut, after, None if before < 0 else _STAND_IN[char_kind(pending[before])])
            return True
        # From index 2 to the limit everything is case-ignorable: no sigma there.
        first = _last_solid(pending, 1, 0)
        if first >= 0 and self._open_sigma(first) and len(pending) < self.hard:
            return False  # its final or non-final form depends on what comes after: wait
        cut = self._outside_markup(limit)
        if cut < 2:
            return False
        self._segment(cut, "", None if first < 0 else _STAND_IN[char_kind(pending[first])])
        return True

    def _outside_markup(self, cut: int) -> int:
        """`cut`, or the start of the markup that straddles it."""
        opening = self._pending.rfind("<", max(0, cut - MARKUP_SPAN + 1), cut)
        if opening >= 0:
            markup = _MARKUP.match(self._pending, opening)
            if markup is not None and markup.end() > cut:
                return opening
        return cut

    def _open_sigma(self, index: int) -> bool:
        """Whether a capital sigma at `index` follows a cased character (so its form is open)."""
        if self._pending[index] != _SIGMA:
            return False
        before = _last_solid(self._pending, index - 1, 0)
        if before < 0:
            return self._prefix != ""
        return char_kind(self._pending[before]) == _CASED

    # -- tokenising a segment --------------------------------------------------------------

    def _segment(self, cut: int, after: str, before: str | None) -> None:
        """Tokenise `_pending[:cut]`; `after` stands in for the character after the cut, and
        `before` for the last non-ignorable one before it (None: unchanged, none in the segment)."""
        pending = self._pending
        lowered = _MARKUP.sub(" ", self._prefix + pending[:cut] + after).lower()
        core = lowered[len(self._prefix) : len(lowered) - len(after)]
        tokens = _WORD.findall(core)
        joint = _joint(core, pending[cut : cut + 2].lower()) if cut < len(pending) else None
        if self._carry is not None:
            if tokens:  # the carried token's continuation comes first
                self._carry.add(self._joint + tokens.pop(0))
            if tokens or joint is None:
                self._emit_key(self._carry.key())
                self._carry = None
        if joint is not None and tokens:
            self._carry = _Carry(tokens.pop())
        self._joint = joint or ""
        self._emit(tokens)
        self._pending = pending[cut:]
        if before is not None:
            self._prefix = before

    def _emit(self, tokens: list[str]) -> None:
        self.count += len(tokens)
        keep = self.tokens.maxlen or 0
        if len(tokens) > keep:
            tokens = tokens[len(tokens) - keep :]
        self.tokens.extend(map(token_key, tokens))

    def _emit_key(self, key: str) -> None:
        self.count += 1
        self.tokens.append(key)


def _last_solid(text: str, end: int, stop: int) -> int:
    """Index of the last character at or before `end` (down to `stop`) that is not case-ignorable,
    or -1."""
    for index in range(min(end, len(text) - 1), stop - 1, -1):
        if char_kind(text[index]) != _IGNORABLE:
            return index
    return -1


def _word(char: str) -> bool:
    return bool(char) and _WORD_CHAR.match(char) is not None


def _joint(left: str, right: str) -> str | None:
    """How a token running to the end of `left` continues into `right` (both lowered): "" (letters
    on both sides), "'" (an inner apostrophe on either side), or None (it does not)."""
    if not left or not right:
        return None
    if _word(left[-1]) and _word(right[0]):
        return ""
    if _word(left[-1]) and right[0] == "'" and _word(right[1:2]):
        return "'"
    if left[-1] == "'" and _word(left[-2:-1]) and _word(right[0]):
        return "'"
    return None


class LongLine(str):
    """An over-long input line: the string is its first `HEAD_CHARS` characters and "…" (what is
    echoed back); `tokens` are its last tokens as `text.token_key`s, `count` all of its tokens."""

    tokens: tuple[str, ...]
    count: int
    #: What a batch counts this line as (`predict.BATCH_CHARS`): the tokens it holds.
    weight: int


def read_long_line(
    start: bytes,
    stream: BinaryIO,
    number: int,
    error: Callable[[int, UnicodeDecodeError], RnncliError],
) -> LongLine:
    """Read the rest of line `number`, whose first `start` bytes are read, up to its newline."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    tail = TailTokens()
    head = ""
    offset = 0  # bytes of the line given to the decoder so far
    piece = start
    while piece:
        final = piece.endswith(b"\n")
        data = piece[:-1] if final else piece
        held = len(decoder.getstate()[0])
        try:
            text = decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            at = offset - held + exc.start
            raise error(number, UnicodeDecodeError(exc.encoding, b"", at, at + 1, exc.reason)) from None
        offset += len(data)
        if not head and text:
            text = text.removeprefix("\ufeff") if number == 1 and offset == len(data) else text
            head = text[:HEAD_CHARS]
        tail.feed(text)
        if final:
            break
        piece = stream.readline(PIECE_BYTES)
        if not piece:
            try:
                tail.feed(decoder.decode(b"", True))
            except UnicodeDecodeError as exc:
                at = offset - len(decoder.getstate()[0]) + exc.start
                raise error(number, UnicodeDecodeError(exc.encoding, b"", at, at + 1, exc.reason)) from None
    tail.close()
    line = LongLine(head + "\u2026")
    line.tokens = tuple(tail.tokens)
    line.count = tail.count
    line.weight = len(head) + 32 * len(line.tokens)
    return line
