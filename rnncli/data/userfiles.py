"""A user's own labelled texts: CSV, TSV, JSON Lines, or a folder of class sub-folders.

Files are streamed once: each text is tokenised and stored as provisional word ids (numbered in
order of first appearance) in flat integer arrays, so memory holds the encoded arrays and the set
of distinct words, never the texts. Once every label is known the test split is drawn, word
frequencies are counted on the training rows only (a `bincount`, ties broken by first appearance
in the training rows), and the provisional ids are mapped to the book's rank-based ids. Every
problem is reported with the file and the line.

Rows come from `userrows` (one CSV, TSV or JSON Lines file, read exactly once, so a pipe works)
and `userfolders` (class folders, regular files only); this module decides what to read, then
splits, checks and encodes.
"""

from __future__ import annotations

import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnncli.data.corpus import EncodedCorpus, Sequences, stratified_split
from rnncli.data.userfolders import Folder, folder_rows, scan, split_folders
from rnncli.data.userrows import INTEGER, Row, file_rows
from rnncli.data.usersource import UserSource, check_source
from rnncli.errors import DataError, UsageError
from rnncli.progress import NullReporter, Reporter
from rnncli.text import INDEX_FROM, OOV, START, Vocabulary
from rnncli.tokenizers import CHARS, WORD_MARK, WORDS, Tokenizer
from rnncli.tokenizers import make as make_tokenizer

# --------------------------------------------------------------------------------------------
# What to read: a file or a folder, and for a folder with train/ and test/ the two halves.


def _labelled(rows: Iterable[Row], path: Path) -> Iterator[Row]:
    """Labels stripped; an empty one is an error."""
    for line, text, label in rows:
        label = label.strip()
        if not label:
            raise DataError(f"{path}: line {line}: empty label")
        yield line, text, label


def iter_rows(path: Path, source: UserSource) -> Iterator[Row]:
    """`(line, text, label)` for every record; labels are stripped and must not be empty."""
    path = Path(path)
    rows = folder_rows(scan(path), source) if path.is_dir() else file_rows(path, source)
    return _labelled(rows, path)


@dataclass
class _Plan:
    """What `load` reads: the training input, the test input if any, and what was set aside."""

    train: Path | Folder
    test: Path | Folder | None
    dropped: dict[str, int] = field(default_factory=dict)

    def name(self, part: Path | Folder) -> Path:
        return part.root if isinstance(part, Folder) else part


def _plan(source: UserSource) -> _Plan:
    path = Path(source.path)
    test_path = Path(source.test_path) if source.test_path else None
    if test_path is None and path.is_dir() and (pair := split_folders(path)):
        path, test_path = pair
    train: Path | Folder = scan(path) if path.is_dir() else path
    test: Path | Folder | None = None
    if test_path is not None:
        test = scan(test_path) if test_path.is_dir() else test_path
    plan = _Plan(train, test)
    if isinstance(train, Folder) and isinstance(test, Folder):
        # aclImdb's train/unsup: a folder of unlabelled texts with no counterpart among the test
        # classes. A training class the test split cannot have is set aside, not trained on.
        for name in [name for name in train.classes if name not in test.classes]:
            plan.dropped[name] = len(train.classes.pop(name))
        for name in test.classes:
            if name not in train.classes:
                raise DataError(
                    f"{test.root / name}: class {name!r} does not occur in {train.root}",
                    "every test class needs training examples",
                )
    return plan


def _report_dropped(plan: _Plan, reporter: Reporter) -> None:
    if plan.dropped:
        assert isinstance(plan.train, Folder) and isinstance(plan.test, Folder)
        names = ", ".join(f"{name!r} ({count:,} files)" for name, count in plan.dropped.items())
        reporter.warn(
            f"{plan.train.root}: skipped {names}: no folder of that name in {plan.test.root}, "
            "so it is not a class (aclImdb's unlabelled 'unsup' reviews are set aside this way)"
        )


# --------------------------------------------------------------------------------------------
# Encoding while streaming.


class _StreamEncoder:
    """Provisional ids in order of first appearance, kept as flat int32 arrays."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.words_of = tokenizer.words
        self.ids: dict[str, int] = {}
        self.flat = array("i")
        self.lengths = array("q")
        self.labels: list[str] = []
        self.lines: list[int] = []

    def add(self, line: int, text: str, label: str) -> None:
        ids = self.ids
        encoded = [ids.setdefault(word, len(ids)) for word in self.words_of(text)]
        self.flat.extend(encoded)
        self.lengths.append(len(encoded))
        self.labels.append(label)
        self.lines.append(line)

    def sequences(self) -> Sequences:
        offsets = np.concatenate([[0], np.cumsum(np.frombuffer(self.lengths, dtype=np.int64))])
        return Sequences(np.frombuffer(self.flat, dtype=np.int32).copy(), offsets)


def _gather(sequences: Sequences, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ids of `rows`, concatenated, and each row's length (vectorised, no per-row lists)."""
    lengths = sequences.lengths()[rows]
    total = int(lengths.sum())
    out_starts = np.cumsum(lengths) - lengths
    source = np.arange(total) + np.repeat(sequences.offsets[rows] - out_starts, lengths)
    return sequences.flat[source], lengths


def _read(part: Path | Folder, source: UserSource, encoder: _StreamEncoder, reporter: Reporter) -> int:
    path = part.root if isinstance(part, Folder) else part
    task = reporter.task(f"Reading {path.name}", None, "texts")
    count = 0
    try:
        rows = folder_rows(part, source) if isinstance(part, Folder) else file_rows(part, source)
        for line, text, label in _labelled(rows, path):
            encoder.add(line, text, label)
            count += 1
            if count % 1000 == 0:
                task.advance(1000)
    finally:
        task.close()
    if isinstance(part, Folder):
        part.skipped.report(path, reporter)
    if count == 0:
        raise DataError(f"{path}: no labelled texts found")
    return count


_COMPLEMENT = str.maketrans("0123456789", "9876543210")


def _integer_key(label: str) -> tuple:
    """Numeric order of an integer written in ASCII digits, without converting it (no limit)."""
    digits = label.lstrip("+-").lstrip("0") or "0"
    if label.startswith("-") and digits != "0":
        return (0, -len(digits), digits.translate(_COMPLEMENT))
    return (1, len(digits), digits)


def label_order(labels: Iterable[str]) -> list[str]:
    """Sorted label names; numerically when every label is an integer (so 2 < 10).

    The order is total: labels equal as numbers (`1`, `01`, `+1`) follow their spelling, so the
    order never depends on the order of a set (which changes with PYTHONHASHSEED).
    """
    labels = set(labels)
    if labels and all(INTEGER.fullmatch(label) for label in labels):
        return sorted(labels, key=lambda label: (_integer_key(label), label))
    return sorted(labels)


def _label_key(label: str) -> str:
    key = " ".join(unicodedata.normalize("NFKC", label).casefold().split())
    if INTEGER.fullmatch(key):
        key = "".join(map(str, _integer_key(key)))
    return key


def similar_labels(names: Iterable[str]) -> list[list[str]]:
    """Groups of labels that differ only in case, spacing, Unicode form or leading zeros."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(_label_key(name), []).append(name)
    return [group for group in groups.values() if len(group) > 1]


def _warn_similar(path: Path, names: list[str], reporter: Reporter) -> None:
    groups = similar_labels(names)
    if groups:
        shown = "; ".join(" and ".join(map(repr, group)) for group in groups[:5])
        more = f" (and {len(groups) - 5} more groups)" if len(groups) > 5 else ""
        reporter.warn(
            f"{path}: labels {shown}{more} differ only in case, spacing or leading zeros; "
            "each is a class of its own"
        )


def _share(n: int, k: int) -> str:
    """The shortest decimal test share that holds out exactly `k` of `n` texts."""
    for digits in range(1, 12):
        scale = 10**digits
        for value in (np.ceil(k / n * scale) / scale, np.floor(k / n * scale) / scale):
            if 0 < value < 1 and int(round(n * value)) == k:
                return f"{value:.{digits}f}"
    return repr(k / n)


def _check_split(path: Path, names: list[str], labels: np.ndarray, train_rows, fraction: float) -> None:
    """Refuse a drawn split that leaves either side, or a class's training examples, empty."""
    n, held = len(labels), len(labels) - len(train_rows)
    if held == 0:
        raise UsageError(
            f"--test-split {fraction} holds out none of the {n:,} texts in {path.name}",
            f"use at least {_share(n, 1)}" if n > 1 else "add texts",
        )
    if held == n:
        raise UsageError(
            f"--test-split {fraction} holds out all {n:,} texts in {path.name}, leaving none to train on",
            f"use at most {_share(n, n - 1)}" if n > 1 else "add texts",
        )
    trained = np.bincount(labels[train_rows], minlength=len(names))
    totals = np.bincount(labels, minlength=len(names))
    for i in np.flatnonzero(trained == 0):
        raise UsageError(
            f"--test-split {fraction} leaves class {names[i]!r} of {path.name} no training example "
            f"(all {int(totals[i])} held out)",
            "use a smaller --test-split, or add examples of that class",
        )


def load(
    source: UserSource, seed: int, reporter: Reporter | None = None, tokenizer: str = WORDS
) -> EncodedCorpus:
    """Read, split (stratified, seeded) and encode a user's corpus.

    Texts are read once, as words; `tokenizer` then splits each distinct word into its tokens
    (a `subword` tokenizer first learns from the training rows' words).
    """
    reporter = reporter or NullReporter()
    check_source(source)
    splitter = make_tokenizer(tokenizer)
    plan = _plan(source)
    _report_dropped(plan, reporter)
    encoder = _StreamEncoder(splitter)
    train_name = plan.name(plan.train)
    train_count = _read(plan.train, source, encoder, reporter)
    test_name = None
    if plan.test is not None:
        test_name = plan.name(plan.test)
        _read(plan.test, source, encoder, reporter)
    names = label_order(encoder.labels[:train_count])
    if len(names) < 2:
        raise DataError(f"{train_name}: only one class ({names[0]!r}) found; need at least two")
    ids = {name: i for i, name in enumerate(names)}
    for line, label in zip(encoder.lines[train_count:], encoder.labels[train_count:]):
        if label not in ids:
            raise DataError(f"{test_name}: line {line}: label {label!r} does not occur in {train_name}")
    labels = np.array([ids[label] for label in encoder.labels], dtype=np.int32)
    if plan.test is None:
        train_rows, test_rows = stratified_split(labels, source.test_split, seed)
        _check_split(train_name, names, labels, train_rows, source.test_split)
    else:
        train_rows = np.arange(train_count)
        test_rows = np.arange(train_count, len(labels))
    _warn_similar(train_name, names, reporter)
    counts = Counter(encoder.labels[:train_count])
    for name, count in counts.items():
        if count == 1:
            reporter.warn(f"{train_name}: class {name!r} has only one example")
    if plan.test is not None:
        _warn_untested(names, labels[test_rows], test_name, train_name, reporter)
    everything, words = _tokens(encoder.sequences(), list(encoder.ids), train_rows, splitter)
    # Rank words by frequency over the training rows only; ties by first appearance among them,
    # so nothing about the held-out rows (not even where they sit in the file) shapes the ranks.
    train_tokens, _ = _gather(everything, train_rows)
    frequency = np.bincount(train_tokens, minlength=len(words))
    first = np.full(len(words), len(train_tokens), dtype=np.int64)
    seen, position = np.unique(train_tokens, return_index=True)
    first[seen] = position
    order = np.lexsort((first, -frequency))
    order = order[frequency[order] > 0]
    final = np.full(len(words), OOV, dtype=np.int32)
    final[order] = np.arange(len(order), dtype=np.int32) + INDEX_FROM + 1
    vocabulary = Vocabulary(tuple(words[i] for i in order))

    def encoded(rows: np.ndarray) -> Sequences:
        tokens, lengths = _gather(everything, rows)
        offsets = np.concatenate([[0], np.cumsum(lengths + 1)])
        flat = np.empty(int(offsets[-1]), dtype=np.int32)
        starts = np.zeros(len(flat), dtype=bool)
        starts[offsets[:-1]] = True
        flat[starts] = START
        flat[~starts] = final[tokens]
        return Sequences(flat, offsets)

    return EncodedCorpus(
        Path(source.path).name,
        tuple(names),
        vocabulary,
        encoded(train_rows),
        labels[train_rows],
        encoded(test_rows),
        labels[test_rows],
        splitter,
    )


def _warn_untested(names: list[str], test_labels: np.ndarray, test_name, train_name, reporter) -> None:
    """A warning, not an error: the model is sound and the test still measures the other
    classes; a small test file may simply lack a rare class. The user should know."""
    tested = np.bincount(test_labels, minlength=len(names))
    untested = [names[i] for i in np.flatnonzero(tested == 0)]
    if not untested:
        return
    shown = ", ".join(map(repr, untested[:10])) + (
        f" and {len(untested) - 10} more" if len(untested) > 10 else ""
    )
    reporter.warn(
        f"{test_name}: no test example of class{'es' if len(untested) > 1 else ''} {shown}, "
        f"which {train_name} trains; the test scores do not measure it"
    )


def _tokens(
    word_rows: Sequences, words: list[str], train_rows: np.ndarray, tokenizer: Tokenizer
) -> tuple[Sequences, list[str]]:
    """Rows of word ids as rows of token ids, through each distinct word's tokens, once each.

    For `words` this is the identity. A tokenizer that learns does so here, from the words of
    the training rows and their counts only.
    """
    if tokenizer.name == WORDS:
        return word_rows, words
    if tokenizer.trained:
        counts = np.bincount(_gather(word_rows, train_rows)[0], minlength=len(words))
        tokenizer.train({words[i]: int(n) for i, n in enumerate(counts) if n})
    ids: dict[str, int] = {}
    pieces = [[ids.setdefault(p, len(ids)) for p in tokenizer.word_pieces(word)] for word in words]
    mark = [ids.setdefault(WORD_MARK, len(ids))] if tokenizer.name == CHARS else []
    flat = array("i")
    lengths = array("q")
    for row in range(len(word_rows)):
        before = len(flat)
        for position, word in enumerate(word_rows[row].tolist()):
            if position:
                flat.extend(mark)
            flat.extend(pieces[word])
        lengths.append(len(flat) - before)
    offsets = np.concatenate([[0], np.cumsum(np.frombuffer(lengths, dtype=np.int64))])
    return Sequences(np.frombuffer(flat, dtype=np.int32).copy(), offsets), list(ids)


def count_classes(source: UserSource) -> int:
    """Number of classes `load` would train, reading labels only (for `summary`).

    A folder's classes are its folder names, so nothing in it is read; a file is read once.
    """
    check_source(source)
    plan = _plan(source)
    if isinstance(plan.train, Folder):
        return len({name.strip() for name in plan.train.classes if name.strip()})
    return len({label for _, _, label in _labelled(file_rows(plan.train, source), plan.train)})
