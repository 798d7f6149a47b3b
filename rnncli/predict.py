"""Use case: raw text in, label out, encoded with the run's own vocabulary."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from rnncli import runs, tokenizers
from rnncli.errors import InputError, RunError, UsageError
from rnncli.inference import KerasModel, Staged, load_model
from rnncli.lines import decode_line
from rnncli.longlines import LINE_BYTES, LongLine, read_long_line
from rnncli.models.registry import ModelSpec
from rnncli.runs import RunInfo
from rnncli.text import Encoder, Vocabulary, pad
from rnncli.word_ids import WordIds

BATCH = 1024  # texts read, encoded and answered together; width routing sorts within it
#: The batch of runs answered by a grams export, whose batches cost the same at any size: the
#: reading thread hands the model its first batch, and waits for the last, sooner. 10,000 IMDB
#: reviews through the nbsvm preset in process, 7 alternating runs: 0.442 s against 0.466 s at
#: 1,024 (a cnn-lstm run at 512 took 1.58 s against 1.29 s: its width groups want big batches).
NGRAM_BATCH = 512
#: A batch also ends once it holds this many characters (a line too long to hold counts what it
#: keeps, `LongLine.weight`), so memory stays bounded by about two batches (one being read, one
#: in the model) however long the input or its lines. Measured with
#: benchmarks/predict_memory.py: 100 MB streamed in 223 MB peak RSS (295 MB at 4 Mi characters),
#: and no change in texts per second on IMDB reviews.
BATCH_CHARS = 1024 * 1024


@dataclass(frozen=True)
class Prediction:
    text: str
    label: str
    probability: float
    probabilities: dict[str, float]


def spec_of(run: RunInfo) -> ModelSpec:
    """The run's model section as a `ModelSpec`; a missing or inconsistent one is a RunError."""
    section = run.config.get("model") if isinstance(run.config, dict) else None
    if not isinstance(section, dict):
        raise RunError(f"{run.path / runs.CONFIG}: no model section")
    try:
        return ModelSpec(**section)
    except TypeError as exc:  # missing or unknown keys
        raise RunError(f"{run.path / runs.CONFIG}: bad model section ({exc})") from exc
    except UsageError as exc:  # validation: the values do not make a model
        raise RunError(f"{run.path / runs.CONFIG}: {exc}") from exc


class Predictor:
    """A trained run, loaded once, answering batches of texts."""

    def __init__(self, run: RunInfo, prefer_litert: bool = True, precision: str = "auto") -> None:
        self.run = run
        self.spec = spec_of(run)
        self.label_names = run.label_names
        if len(self.label_names) != self.spec.num_classes:
            raise RunError(
                f"{run.path}: config lists {len(self.label_names)} label names "
                f"but the model section says {self.spec.num_classes} classes"
            )
        if len(set(self.label_names)) != len(self.label_names):
            # Answers name their label and key probabilities by name: a repeat would hide one.
            raise RunError(
                f"{run.path}: config lists a label name twice: {', '.join(map(str, self.label_names))}"
            )
        vocabulary = Vocabulary.load(run.path / runs.VOCAB)
        if len(vocabulary.words) > self.spec.num_words:
            raise RunError(
                f"{run.path}: vocabulary has {len(vocabulary.words)} words, "
                f"more than num_words {self.spec.num_words} allows"
            )
        self.tokenizer = tokenizers.load(run.path, run.config.get("tokenizer"))
        problem = self.tokenizer.check_vocabulary(vocabulary.words)
        if problem is not None:
            raise RunError(
                f"{run.path}: its vocabulary does not come from its {self.tokenizer.name} tokenizer "
                f"({problem})",
                "train a new run",
            )
        self.encoder = Encoder(vocabulary, self.spec.num_words)
        #: Whole batches encoded with NumPy, for `words` runs (`rnncli.word_ids`); built when
        #: first used, so a single-text `predict` does not pay for its table.
        self._word_ids: WordIds | None = None
        self.model = load_model(run.path, runs.MODEL, self.spec, prefer_litert, precision)
        self._keras_model = None

    @property
    def keras_model(self):
        """The Keras model itself (imports TensorFlow), for what LiteRT cannot show."""
        if self._keras_model is None:
            model = (
                self.model
                if isinstance(self.model, KerasModel)
                else KerasModel(self.run.path / runs.MODEL, self.spec)
            )
            self._keras_model = model.keras_model
        return self._keras_model

    def encode(self, texts: list[str]) -> np.ndarray:
        ids, failure = self._encode_until_error(texts)
        if failure is not None:
            raise failure
        return ids

    def _encode_until_error(self, texts: list[str]) -> tuple[np.ndarray, InputError | None]:
        """Padded ids of each text, up to the first that cannot be encoded, and its error."""
        if self.tokenizer.name == tokenizers.WORDS and len(texts) > 1 and not _has_long_line(texts):
            if self._word_ids is None:
                self._word_ids = WordIds(self.encoder.index)
            return self._word_ids.encode_padded(texts, self.spec.maxlen), None
        tokens: list[list[str]] = []
        long_rows: dict[int, list[int]] = {}
        failure = None
        for text in texts:
            if isinstance(text, LongLine):
                try:
                    long_rows[len(tokens)] = self._long_line_ids(text)
                except InputError as exc:
                    failure = exc
                    break
                tokens.append([])
            else:
                tokens.append(self.tokenizer.tokens(text))
        ids = self.encoder.encode_padded(tokens, self.spec.maxlen)
        for row, line_ids in long_rows.items():
            ids[row] = pad([line_ids], self.spec.maxlen)[0]
        return ids, failure

    def _long_line_ids(self, text: LongLine) -> list[int]:
        if text.count > len(text.tokens) < self.spec.maxlen:
            raise InputError(
                f"a line of {text.count:,} words is too long for this run: only its last "
                f"{len(text.tokens):,} words are kept, and the model reads {self.spec.maxlen:,}",
                "split the line",
            )
        return self.encoder.encode_keys(self.tokenizer.tokens_of_keys(text.tokens))

    def probabilities_of(self, ids: np.ndarray) -> np.ndarray:
        """Class probabilities for padded id rows, shape (rows, classes)."""
        return self._probabilities_of_staged(self.model.stage(ids))

    def _probabilities_of_staged(self, staged: Staged) -> np.ndarray:
        if not staged.rows:
            return np.zeros((0, len(self.label_names)), dtype=np.float64)
        out = self.model.run(staged)
        if self.spec.num_classes == 2:
            out = np.concatenate([1.0 - out, out], axis=1)
        return out

    def probabilities(self, texts: list[str]) -> np.ndarray:
        return self.probabilities_of(self.encode(texts))

    def predict(self, texts: list[str]) -> list[Prediction]:
        return self._predictions(texts, self.probabilities(texts))

    def _predictions(self, texts: list[str], probs: np.ndarray) -> list[Prediction]:
        # One argmax and one conversion to Python floats for the whole batch: row by row they
        # took 0.09 s of a 10,000-review `predict -`.
        names = self.label_names
        best = probs.argmax(axis=1).tolist() if len(probs) else []
        return [
            Prediction(text, names[top], row[top], dict(zip(names, row)))
            for text, row, top in zip(texts, probs.tolist(), best)
        ]

    @property
    def batch_size(self) -> int:
        """Texts `stream` reads and answers together by default."""
        return NGRAM_BATCH if getattr(self.model, "prepare", None) is not None else BATCH

    def stream(self, texts: Iterable[str], batch: int | None = None) -> Iterator[list[Prediction]]:
        """Predict batch by batch, in input order, so callers can emit each batch when ready.

        While one batch runs through the model (LiteRT releases the GIL), the next is read,
        encoded and staged (an n-gram run's n-gram ids) on this thread, so reading and
        inference overlap; staging here rather than beside the model keeps NumPy's work from
        contending with this thread's for the GIL.
        """
        iterator, batch = iter(texts), batch or self.batch_size
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = None
            while True:
                chunk, failure = _take(iterator, batch, BATCH_CHARS)
                ids, bad = self._encode_until_error(chunk)
                if bad is not None:
                    chunk, failure = chunk[: len(ids)], bad
                staged = self.model.stage(ids)
                running = (chunk, pool.submit(self._probabilities_of_staged, staged)) if chunk else None
                if pending is not None:
                    yield self._predictions(pending[0], pending[1].result())
                pending = running
                if failure is not None or not chunk:
                    # Bad input further on: what was read before it is answered first.
                    if pending is not None:
                        yield self._predictions(pending[0], pending[1].result())
                    if failure is not None:
                        raise failure
                    return


def _has_long_line(texts: list[str]) -> bool:
    return any(isinstance(text, LongLine) for text in texts)


def _take(iterator: Iterator[str], count: int, chars: int) -> tuple[list[str], Exception | None]:
    """Up to `count` items, fewer once they hold `chars` characters, and the error that stopped
    the reading early, if any."""
    chunk: list[str] = []
    size = 0
    try:
        while len(chunk) < count and size < chars:
            chunk.append(next(iterator))
            size += getattr(chunk[-1], "weight", None) or len(chunk[-1])
    except StopIteration:
        pass
    except Exception as exc:  # noqa: BLE001 - handed back to be raised after the answers
        return chunk, exc
    return chunk, None


def read_lines(stream: BinaryIO, source: str) -> Iterator[str]:
    """One text per line; bytes that are not UTF-8 stop with an error naming the line.

    A line is read whole up to `LINE_BYTES`; a longer one streams in pieces and comes back as a
    `LongLine` (its first characters, and its last tokens), so memory stays bounded however long
    a line is, and the answer is the one the whole line gives.
    """

    def error(number: int, exc: UnicodeDecodeError) -> InputError:
        return InputError(
            f"{source}: line {number} is not valid UTF-8 (byte {exc.start})",
            "convert the input to UTF-8, e.g. with iconv",
        )

    for number in itertools.count(1):
        raw = stream.readline(LINE_BYTES)
        if not raw:
            return
        if len(raw) == LINE_BYTES and not raw.endswith(b"\n"):
            yield read_long_line(raw, stream, number, error)
        else:
            yield decode_line(raw, number, "utf-8", error).rstrip("\r\n")
