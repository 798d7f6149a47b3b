"""Tokenizers: how a text becomes the tokens a vocabulary ranks, chosen per run and saved with it.

Every tokenizer first finds the words of a text as `text.token_spans` does (letters and digits
of any script, markup and punctuation left out), then splits each word into pieces:

- `words`: the word itself (the book's encoding, bit for bit);
- `chars`: its characters (Hangul syllables for Korean), with `WORD_MARK` between words, so
  that n-grams of characters see where words begin and end, as character n-gram models do;
- `subword`: SentencePiece unigram pieces learned from the training split only;
- `morphemes`: Kiwi's morphemes with their part-of-speech tags (`pip install "rnncli[korean]"`);
- `chars+subword`: the characters of the text, then its SentencePiece pieces (marked `#`): for
  the n-gram models, whose character n-grams and piece n-grams each add what the other misses
  (NSMC's `--preset best`, docs/results.md).

Splitting word by word is what lets a user's corpus be read in one streaming pass (the pieces
of each distinct word are computed once) and lets `--explain` map every piece back to the
characters of the user's own text. SentencePiece pieces never cross a space, so splitting per
word gives the pieces of the whole text; Kiwi loses the little context it reads across words,
which is said where it is chosen. Every tokenizer but `words` applies Unicode NFC first, so
decomposed Hangul (NFD, as some Mac and web sources send it) reads as the composed text.

Pure Python: `rnncli predict` encodes without TensorFlow; SentencePiece and Kiwi are imported
only by the runs that use them, and `rnncli.text` (NumPy) only when text is split, so that the
names below cost `--help` nothing.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from rnncli.errors import RunError, UsageError

WORDS, CHARS, SUBWORD, MORPHEMES = "words", "chars", "subword", "morphemes"
CHARS_SUBWORD = "chars+subword"
TOKENIZERS = (WORDS, CHARS, SUBWORD, MORPHEMES, CHARS_SUBWORD)
#: Marks a SentencePiece piece among characters (`chars+subword`): words hold no `#`.
PIECE_MARK = "#"
#: Between the characters of two words (`chars`): U+2581, as SentencePiece marks a word start.
WORD_MARK = "\u2581"
#: The file a trained tokenizer keeps in the run directory (SentencePiece's model).
MODEL_FILE = "tokenizer.model"
#: SentencePiece vocabulary size, as docs/results.md's tokenizer comparison used it (not tuned);
#: a training split with few words gets fewer.
SUBWORD_PIECES = 8000

Span = tuple[int, int, str]


class Tokenizer:
    """Words, then pieces of each word; subclasses say how a word splits."""

    name = WORDS
    #: Whether `train` must see the training split before the tokenizer can be used.
    trained = False

    def __init__(self) -> None:
        self._cache: dict[str, list[str]] = {}

    def word_pieces(self, word: str) -> list[str]:
        """The pieces of one lower-cased word (cached: corpora repeat their words)."""
        pieces = self._cache.get(word)
        if pieces is None:
            pieces = self._split(word)
            if len(self._cache) < 1_000_000:
                self._cache[word] = pieces
        return pieces

    def _split(self, word: str) -> list[str]:
        return [word]

    def join(self, pieces_per_word: Iterable[list[str]]) -> list[str]:
        """The tokens of a text from the pieces of its words, in order."""
        return [piece for pieces in pieces_per_word for piece in pieces]

    def tokens(self, text: str) -> list[str]:
        words = self.words(text)
        if self.name == WORDS:
            # Each word is its own piece: the per-word calls below were half of `predict`'s time.
            return words
        cache, split = self._cache.get, self.word_pieces
        return self.join([cache(word) or split(word) for word in words])

    def tokens_of_keys(self, keys: Iterable[str]) -> list[str]:
        """The tokens of an over-long line from its last words (`rnncli.longlines` keys).

        A word too long to keep (`text.LONG_TOKEN_MARK`, a digest) stays whole: for `words` it
        still matches a long vocabulary word; for the others it counts as one unknown token.
        """
        if self.name == WORDS:
            return list(keys)
        from rnncli.text import LONG_TOKEN_MARK

        return self.join(
            [key] if key.startswith(LONG_TOKEN_MARK) else self.word_pieces(unicodedata.normalize("NFC", key))
            for key in keys
        )

    def words(self, text: str) -> list[str]:
        """The text's words, lower-cased (and NFC-normalised for every tokenizer but `words`)."""
        from rnncli.text import token_spans, tokenize

        if self.name == WORDS:
            return tokenize(text)
        return [unicodedata.normalize("NFC", word) for _, _, word in token_spans(text)]

    def spans(self, text: str) -> list[Span]:
        """`(start, end, token)` for every token, as positions in `text` itself (for `--explain`).

        A token the tokenizer adds between words (`WORD_MARK`) has an empty span at the start of
        the next word. Where normalising changed a word's length, each of its pieces gets the
        whole word's span.
        """
        from rnncli.text import token_spans

        result: list[Span] = []
        for start, end, word in token_spans(text):
            pieces = self.word_pieces(self._normal_word(word))
            if result and self.name == CHARS:
                result.append((start, start, WORD_MARK))
            if sum(len(p) for p in pieces) - self._extra(pieces) != end - start:
                result.extend((start, end, piece) for piece in pieces)
                continue
            at = start
            for piece in pieces:
                width = len(piece) - (1 if piece.startswith(WORD_MARK) else 0)
                result.append((at, at + width, piece))
                at += width
        return result

    def _normal_word(self, word: str) -> str:
        return unicodedata.normalize("NFC", word) if self.name != WORDS else word

    @staticmethod
    def _extra(pieces: list[str]) -> int:
        return sum(1 for piece in pieces if piece.startswith(WORD_MARK))

    def train(self, word_counts: dict[str, int]) -> None:
        """Learn from the training split's words and their counts (only `subword` learns)."""

    def save(self, folder: Path) -> dict:
        """Write what the tokenizer learned into `folder`; return its entry for `config.json`."""
        return {"name": self.name}

    def check_vocabulary(self, words: Iterable[str]) -> str | None:
        """Why a saved vocabulary cannot have come from this tokenizer, or None."""
        return None


class CharTokenizer(Tokenizer):
    name = CHARS

    def _split(self, word: str) -> list[str]:
        return list(word)

    def join(self, pieces_per_word: Iterable[list[str]]) -> list[str]:
        tokens: list[str] = []
        for pieces in pieces_per_word:
            if tokens:
                tokens.append(WORD_MARK)
            tokens.extend(pieces)
        return tokens

    def check_vocabulary(self, words: Iterable[str]) -> str | None:
        bad = next((w for w in words if len(w) != 1), None)
        return None if bad is None else f"token {bad!r} is not a single character"


class SubwordTokenizer(Tokenizer):
    """SentencePiece unigram pieces; the model is learned from the training split's words."""

    name = SUBWORD
    trained = True

    def __init__(self, model: bytes | None = None) -> None:
        super().__init__()
        self.model = model
        self._processor = None if model is None else _processor(model)

    def _split(self, word: str) -> list[str]:
        if self._processor is None:
            raise RuntimeError("the subword tokenizer is used before it was trained")
        return self._processor.encode(word, out_type=str)

    def train(self, word_counts: dict[str, int]) -> None:
        spm = _sentencepiece()
        # Each line is a word and its count: SentencePiece's unigram trainer counts words anyway
        # (its pieces never cross a space), so this is the training split, read once.
        lines = [f"{word}\t{count}" for word, count in word_counts.items() if "\t" not in word]
        if not lines:
            raise UsageError("the subword tokenizer needs words to learn from; the training split has none")
        model = io.BytesIO()
        pieces = min(SUBWORD_PIECES, max(len(lines) // 2, 16))
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=model,
            input_format="tsv",
            vocab_size=pieces,
            model_type="unigram",
            character_coverage=0.9995,
            normalization_rule_name="identity",
            hard_vocab_limit=False,
            minloglevel=2,
            num_threads=1,
        )
        self.__init__(model.getvalue())

    def save(self, folder: Path) -> dict:
        from rnncli.atomic import atomic_write_bytes

        if self.model is None:
            raise RuntimeError("the subword tokenizer is saved before it was trained")
        atomic_write_bytes(Path(folder) / MODEL_FILE, self.model)
        return {"name": self.name, "file": MODEL_FILE, "sha256": hashlib.sha256(self.model).hexdigest()}

    def check_vocabulary(self, words: Iterable[str]) -> str | None:
        # Characters outside the model's coverage come out as themselves (SentencePiece's unknown
        # piece keeps its surface), so those are sound tokens too.
        known = {self._processor.id_to_piece(i) for i in range(self._processor.get_piece_size())}
        letters = {ch for piece in known for ch in piece}
        bad = next(
            (w for w in words if w not in known and any(ch in letters for ch in w.lstrip(WORD_MARK))),
            None,
        )
        return None if bad is None else f"token {bad!r} is not a piece of its {MODEL_FILE}"


class CharsAndSubwordTokenizer(SubwordTokenizer):
    """All the characters of a text (as `chars`), then all its pieces (as `subword`, marked).

    Two sequences one after the other rather than interleaved, so that the n-grams of each stay
    n-grams of characters or of pieces (only the few at the seam mix them).
    """

    name = CHARS_SUBWORD

    def _split(self, word: str) -> list[str]:
        return list(word) + [PIECE_MARK + piece for piece in super()._split(word)]

    def join(self, pieces_per_word: Iterable[list[str]]) -> list[str]:
        chars: list[str] = []
        pieces: list[str] = []
        for word_pieces in pieces_per_word:
            if chars:
                chars.append(WORD_MARK)
            for piece in word_pieces:
                (pieces if piece.startswith(PIECE_MARK) else chars).append(piece)
        return chars + pieces

    def spans(self, text: str) -> list[Span]:
        from rnncli.text import token_spans

        chars: list[Span] = []
        pieces: list[Span] = []
        for start, end, word in token_spans(text):
            split = self.word_pieces(self._normal_word(word))
            letters = [p for p in split if not p.startswith(PIECE_MARK)]
            marked = [p for p in split if p.startswith(PIECE_MARK)]
            if chars:
                chars.append((start, start, WORD_MARK))
            if len(letters) != end - start:  # normalising changed the word's length
                chars.extend((start, end, p) for p in letters)
                pieces.extend((start, end, p) for p in marked)
                continue
            chars.extend((start + i, start + i + 1, p) for i, p in enumerate(letters))
            at = start
            for piece in marked:
                width = (
                    len(piece)
                    - len(PIECE_MARK)
                    - (1 if piece[len(PIECE_MARK) :].startswith(WORD_MARK) else 0)
                )
                pieces.append((at, at + width, piece))
                at += width
        return chars + pieces

    def check_vocabulary(self, words: Iterable[str]) -> str | None:
        words = list(words)
        bad = next((w for w in words if not w.startswith(PIECE_MARK) and len(w) != 1), None)
        if bad is not None:
            return f"token {bad!r} is neither a character nor a {PIECE_MARK}-marked piece"
        return super().check_vocabulary(w[len(PIECE_MARK) :] for w in words if w.startswith(PIECE_MARK))


class MorphemeTokenizer(Tokenizer):
    """Kiwi's morphemes as `form/TAG`; each word is analysed on its own (cached per word)."""

    name = MORPHEMES

    def __init__(self) -> None:
        super().__init__()
        self._kiwi = _kiwi()

    def _split(self, word: str) -> list[str]:
        return [f"{token.form}/{token.tag}" for token in self._kiwi.tokenize(word)] or [word]

    def spans(self, text: str) -> list[Span]:
        # Morphemes are not substrings of their word (Kiwi restores elided forms): every
        # morpheme of a word is shown on the whole word.
        from rnncli.text import token_spans

        result: list[Span] = []
        for start, end, word in token_spans(text):
            result.extend((start, end, piece) for piece in self.word_pieces(self._normal_word(word)))
        return result

    def check_vocabulary(self, words: Iterable[str]) -> str | None:
        bad = next((w for w in words if "/" not in w), None)
        return None if bad is None else f"token {bad!r} is not a morpheme/TAG"


def make(name: str) -> Tokenizer:
    """A fresh tokenizer by name (a `subword` one still has to be trained)."""
    if name == WORDS:
        return Tokenizer()
    if name == CHARS:
        return CharTokenizer()
    if name in (SUBWORD, CHARS_SUBWORD):
        _sentencepiece()
        return SubwordTokenizer() if name == SUBWORD else CharsAndSubwordTokenizer()
    if name == MORPHEMES:
        return MorphemeTokenizer()
    raise UsageError(f"unknown tokenizer {name!r}", f"choose one of: {', '.join(TOKENIZERS)}")


def load(folder: Path, entry: dict | None) -> Tokenizer:
    """The tokenizer a run was trained with (`config.json`'s entry; none: `words`, as before)."""
    if not entry:
        return Tokenizer()
    name = entry.get("name") if isinstance(entry, dict) else None
    if name not in TOKENIZERS:
        raise RunError(f"{folder}: config.json names an unknown tokenizer {name!r}", "train a new run")
    if not is_learned(name):
        return make(name)
    path = Path(folder) / str(entry.get("file") or MODEL_FILE)
    try:
        model = path.read_bytes()
    except OSError as exc:
        raise RunError(
            f"{path}: the run's tokenizer is missing ({exc.strerror})", "train a new run"
        ) from None
    if hashlib.sha256(model).hexdigest() != entry.get("sha256"):
        raise RunError(f"{path}: the run's tokenizer is damaged (checksum differs)", "train a new run")
    try:
        return from_model(name, model)
    except RuntimeError as exc:  # SentencePiece's own word for a model it cannot parse
        raise RunError(f"{path}: the run's tokenizer is damaged ({exc})", "train a new run") from None


def require(name: str) -> None:
    """Refuse a tokenizer whose library is missing, before any data is read (imports only)."""
    if name in (SUBWORD, CHARS_SUBWORD):
        _sentencepiece()
    elif name == MORPHEMES:
        _kiwi_class()


def is_learned(name: str) -> bool:
    """Whether the tokenizer of that name learns from the training split (and is saved)."""
    return name in (SUBWORD, CHARS_SUBWORD)


def from_model(name: str, model: bytes) -> Tokenizer:
    """A learned tokenizer from the model it saved."""
    return SubwordTokenizer(model) if name == SUBWORD else CharsAndSubwordTokenizer(model)


def _sentencepiece():
    try:
        import sentencepiece
    except ImportError:
        raise UsageError(
            "the subword tokenizer needs SentencePiece", 'install it with: pip install "rnncli[subword]"'
        ) from None
    return sentencepiece


def _processor(model: bytes):
    spm = _sentencepiece()
    processor = spm.SentencePieceProcessor()
    processor.LoadFromSerializedProto(model)
    return processor


def _kiwi():
    return _kiwi_class()()


def _kiwi_class():
    try:
        from kiwipiepy import Kiwi
    except ImportError:
        raise UsageError(
            "the morphemes tokenizer needs Kiwi", 'install it with: pip install "rnncli[korean]"'
        ) from None
    return Kiwi
