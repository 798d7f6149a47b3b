"""Corpora in memory: raw texts with labels, and their encoded form with the vocabulary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rnncli.progress import NullReporter, Reporter
from rnncli.text import Encoder, Vocabulary, pad, reencode
from rnncli.tokenizers import Tokenizer


@dataclass(frozen=True)
class RawCorpus:
    """Texts and integer labels of a train and a test split; `label_names[i]` names label i."""

    name: str
    label_names: tuple[str, ...]
    train_texts: list[str]
    train_labels: np.ndarray
    test_texts: list[str]
    test_labels: np.ndarray


def shuffled(texts: list[str], labels: Sequence[int], seed: int) -> tuple[list[str], np.ndarray]:
    """Shuffle as `keras.datasets` does: a permutation from `np.random.RandomState(seed)`."""
    order = np.arange(len(texts))
    np.random.RandomState(seed).shuffle(order)
    return [texts[i] for i in order], np.asarray(labels, dtype=np.int32)[order]


def stratified_sample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of `size` rows keeping each class's share (largest-remainder rounding), sorted."""
    labels = np.asarray(labels)
    size = min(size, len(labels))
    rng = np.random.RandomState(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / len(labels)
    quota = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - quota), kind="stable")[: size - quota.sum()]:
        quota[i] += 1
    chosen = []
    for cls, take in zip(classes, quota):
        members = np.flatnonzero(labels == cls)
        rng.shuffle(members)
        chosen.append(members[:take])
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`(kept, held_out)` index arrays, the held-out part a stratified `fraction` of the rows."""
    held = stratified_sample(labels, int(round(len(labels) * fraction)), seed)
    mask = np.ones(len(labels), dtype=bool)
    mask[held] = False
    return np.flatnonzero(mask), held


class Sequences:
    """Variable-length id sequences stored flat, as a cache can hold them without pickling."""

    def __init__(self, flat: np.ndarray, offsets: np.ndarray) -> None:
        self.flat = flat
        self.offsets = offsets

    @classmethod
    def from_lists(cls, lists: Sequence[Sequence[int]]) -> Sequences:
        lengths = np.fromiter((len(seq) for seq in lists), dtype=np.int64, count=len(lists))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        flat = np.fromiter((i for seq in lists for i in seq), dtype=np.int32, count=int(offsets[-1]))
        return cls(flat, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, indices: np.ndarray) -> Sequences:
        """The rows at `indices`, in that order."""
        return Sequences.from_lists([self[int(i)] for i in indices])

    def padded(self, num_words: int, maxlen: int) -> np.ndarray:
        return reencode(pad([self[i] for i in range(len(self))], maxlen), num_words)


@dataclass
class EncodedCorpus:
    """A corpus encoded with the full vocabulary of its training split.

    Ids are rank + 3 over every word, so any `num_words` is applied on load (ids at or past it
    become OOV) and one cache serves every setting.
    """

    name: str
    label_names: tuple[str, ...]
    vocabulary: Vocabulary
    train: Sequences
    train_labels: np.ndarray
    test: Sequences
    test_labels: np.ndarray

    #: How the texts became tokens; saved with every run so predict splits text the same way.
    tokenizer: Tokenizer = field(default_factory=Tokenizer)

    @classmethod
    def from_raw(
        cls, raw: RawCorpus, reporter: Reporter | None = None, tokenizer: Tokenizer | None = None
    ) -> EncodedCorpus:
        """Tokenise both splits, rank tokens on the training split only, encode both.

        A tokenizer that learns (`subword`) learns from the training split's words only, so
        the test split never shapes the pieces or their ranks.
        """
        reporter = reporter or NullReporter()
        tokenizer = tokenizer or Tokenizer()
        task = reporter.task("Tokenising", len(raw.train_texts) + len(raw.test_texts), "texts")

        def words_of(texts: list[str]) -> list[list[str]]:
            out = []
            for text in texts:
                out.append(tokenizer.words(text))
                task.advance()
            return out

        try:
            train_words = words_of(raw.train_texts)
            test_words = words_of(raw.test_texts)
        finally:
            task.close()
        if tokenizer.trained:
            tokenizer.train(dict(Counter(word for words in train_words for word in words)))
        train_tokens = [tokenizer.join(map(tokenizer.word_pieces, words)) for words in train_words]
        test_tokens = [tokenizer.join(map(tokenizer.word_pieces, words)) for words in test_words]
        vocabulary = Vocabulary.build(train_tokens)
        encoder = Encoder(vocabulary, num_words=len(vocabulary.words) + 4)
        return cls(
            raw.name,
            raw.label_names,
            vocabulary,
            Sequences.from_lists([encoder.encode_tokens(t) for t in train_tokens]),
            raw.train_labels,
            Sequences.from_lists([encoder.encode_tokens(t) for t in test_tokens]),
            raw.test_labels,
            tokenizer,
        )

    def limited(self, limit: int | None, seed: int = 0) -> EncodedCorpus:
        """A class-stratified slice of at most `limit` texts from each split."""
        if limit is None:
            return self
        train = stratified_sample(self.train_labels, limit, seed)
        test = stratified_sample(self.test_labels, limit, seed)
        return EncodedCorpus(
            self.name,
            self.label_names,
            self.vocabulary,
            self.train.take(train),
            self.train_labels[train],
            self.test.take(test),
            self.test_labels[test],
            self.tokenizer,
        )
