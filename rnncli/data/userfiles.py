"""A user's own labelled texts: CSV, TSV, JSON Lines, or a folder of class sub-folders.

Files are streamed once: each text is tokenised and stored as provisional word ids (numbered in
order of first appearance) in flat integer arrays, so memory holds the encoded arrays and the set
of distinct words, never the texts. Once every label is known the test split is drawn, word
frequencies are counted on the training rows only (a `bincount`), and the provisional ids are
mapped to the book's rank-based ids. Every problem is reported with the file and the line.
"""

from __future__ import annotations

import codecs
import csv
import json
from array import array
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rnncli.data.corpus import EncodedCorpus, Sequences, stratified_split
from rnncli.data.usersource import FILE_FORMATS, UserSource, check_source
from rnncli.errors import DataError
from rnncli.lines import decode_lines
from rnncli.progress import NullReporter, Reporter
from rnncli.text import INDEX_FROM, OOV, START, Vocabulary, tokenize

# --------------------------------------------------------------------------------------------
# Reading rows: each reader yields (line number, text, label) and raises DataError with a line.


def _decoded_lines(path: Path, encoding: str) -> Iterator[str]:
    """Lines with their newlines, decoded one by one so an error can name its line."""
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-16", "utf-32")):
        # Wide encodings cannot be split on b"\n"; decode as a stream (line numbers approximate).
        with open(path, encoding="utf-16" if name == "utf-16" else encoding, newline="") as handle:
            try:
                yield from handle
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}: cannot decode as {encoding} ({exc.reason})") from None
        return

    def error(number: int, exc: UnicodeDecodeError) -> DataError:
        return DataError(
            f"{path}: line {number}: bytes that are not valid {encoding} (byte {exc.start})",
            "pass the file's encoding with --encoding",
        )

    with open(path, "rb") as handle:
        yield from decode_lines(handle, encoding, error)


def _csv_rows(path: Path, source: UserSource, delimiter: str) -> Iterator[tuple[int, str, str]]:
    lines = _decoded_lines(path, source.encoding)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty")
        columns = [column.strip() for column in header]
        positions = {}
        for role, wanted, flag in (
            ("text", source.text_col, "--text-col"),
            ("label", source.label_col, "--label-col"),
        ):
            if wanted not in columns:
                raise DataError(
                    f"{path}: no {role} column {wanted!r} (columns found: {', '.join(columns)})",
                    f"name it with {flag}",
                )
            positions[role] = columns.index(wanted)
        needed = max(positions.values())
        for row in reader:
            if not row:
                continue
            if len(row) <= needed:
                raise DataError(f"{path}: line {reader.line_num}: {len(row)} fields, expected {len(columns)}")
            yield reader.line_num, row[positions["text"]], row[positions["label"]]
    except csv.Error as exc:
        raise DataError(
            f"{path}: line {reader.line_num}: malformed {'TSV' if delimiter == chr(9) else 'CSV'} ({exc})"
        ) from None


def _jsonl_rows(path: Path, source: UserSource) -> Iterator[tuple[int, str, str]]:
    for number, line in enumerate(_decoded_lines(path, source.encoding), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: malformed JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object")
        for key, flag in ((source.text_col, "--text-col"), (source.label_col, "--label-col")):
            if key not in record:
                raise DataError(
                    f"{path}: line {number}: no key {key!r} (keys found: {', '.join(map(str, record))})",
                    f"name it with {flag}",
                )
        text, label = record[source.text_col], record[source.label_col]
        yield number, "" if text is None else str(text), "" if label is None else str(label)


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("*.txt")))


def _folder_rows(folder: Path, source: UserSource) -> Iterator[tuple[int, str, str]]:
    classes = _class_folders(folder)
    if not classes:
        raise DataError(
            f"{folder}: no class sub-folders holding .txt files",
            "lay it out as FOLDER/<label>/*.txt, one sub-folder per class",
        )
    number = 0
    for class_dir in classes:
        for file in sorted(class_dir.glob("*.txt")):
            number += 1
            try:
                text = file.read_bytes().decode(source.encoding).removeprefix("\ufeff")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{file}: bytes that are not valid {source.encoding} (byte {exc.start})",
                    "pass the files' encoding with --encoding",
                ) from None
            yield number, text, class_dir.name


def iter_rows(path: Path, source: UserSource) -> Iterator[tuple[int, str, str]]:
    """`(line, text, label)` for every record; labels are stripped and must not be empty."""
    path = Path(path)
    if path.is_dir():
        rows = _folder_rows(path, source)
    else:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty")
        kind = FILE_FORMATS[path.suffix.lower()]
        rows = (
            _jsonl_rows(path, source)
            if kind == "jsonl"
            else _csv_rows(path, source, "\t" if kind == "tsv" else ",")
        )
    for line, text, label in rows:
        label = label.strip()
        if not label:
            raise DataError(f"{path}: line {line}: empty label")
        yield line, text, label


def split_folders(folder: Path) -> tuple[Path, Path] | None:
    """`(train, test)` when a folder is laid out as aclImdb is: train/ and test/ of class folders."""
    train, test = folder / "train", folder / "test"
    if train.is_dir() and test.is_dir() and _class_folders(train) and _class_folders(test):
        return train, test
    return None


# --------------------------------------------------------------------------------------------
# Encoding while streaming.


class _StreamEncoder:
    """Provisional ids in order of first appearance, kept as flat int32 arrays."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.flat = array("i")
        self.lengths = array("q")
        self.labels: list[str] = []
        self.lines: list[int] = []

    def add(self, line: int, text: str, label: str) -> None:
        ids = self.ids
        encoded = [ids.setdefault(token, len(ids)) for token in tokenize(text)]
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


def _read(path: Path, source: UserSource, encoder: _StreamEncoder, reporter: Reporter) -> int:
    task = reporter.task(f"Reading {path.name}", None, "texts")
    count = 0
    try:
        for line, text, label in iter_rows(path, source):
            encoder.add(line, text, label)
            count += 1
            if count % 1000 == 0:
                task.advance(1000)
    finally:
        task.close()
    if count == 0:
        raise DataError(f"{path}: no labelled texts found")
    return count


def label_order(labels: set[str]) -> list[str]:
    """Sorted label names; numerically when every label is an integer (so 2 < 10)."""
    try:
        return sorted(labels, key=int)
    except ValueError:
        return sorted(labels)


def load(source: UserSource, seed: int, reporter: Reporter | None = None) -> EncodedCorpus:
    """Read, split (stratified, seeded) and encode a user's corpus."""
    reporter = reporter or NullReporter()
    check_source(source)
    path = Path(source.path)
    encoder = _StreamEncoder()
    test_path: Path | None = Path(source.test_path) if source.test_path else None
    if test_path is None and path.is_dir() and (pair := split_folders(path)):
        path, test_path = pair
    train_count = _read(path, source, encoder, reporter)
    if test_path is not None:
        _read(test_path, source, encoder, reporter)
    names = label_order(set(encoder.labels[:train_count]))
    if len(names) < 2:
        raise DataError(f"{path}: only one class ({names[0]!r}) found; need at least two")
    ids = {name: i for i, name in enumerate(names)}
    for line, label in zip(encoder.lines[train_count:], encoder.labels[train_count:]):
        if label not in ids:
            raise DataError(f"{test_path}: line {line}: label {label!r} does not occur in {path}")
    labels = np.array([ids[label] for label in encoder.labels], dtype=np.int32)
    counts = Counter(encoder.labels[:train_count])
    for name, count in counts.items():
        if count == 1:
            reporter.warn(f"{path}: class {name!r} has only one example")
    everything = encoder.sequences()
    if test_path is not None:
        train_rows = np.arange(train_count)
        test_rows = np.arange(train_count, len(labels))
    else:
        train_rows, test_rows = stratified_split(labels, source.test_split, seed)
    # Rank words by frequency over the training rows only; ties by first appearance.
    train_tokens, _ = _gather(everything, train_rows)
    frequency = np.bincount(train_tokens, minlength=len(encoder.ids))
    order = np.argsort(-frequency, kind="stable")
    order = order[frequency[order] > 0]
    final = np.full(len(encoder.ids), OOV, dtype=np.int32)
    final[order] = np.arange(len(order), dtype=np.int32) + INDEX_FROM + 1
    words = list(encoder.ids)
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
        path.name,
        tuple(names),
        vocabulary,
        encoded(train_rows),
        labels[train_rows],
        encoded(test_rows),
        labels[test_rows],
    )


def count_classes(source: UserSource) -> int:
    """Number of distinct labels, reading labels only (for `summary`)."""
    check_source(source)
    path = Path(source.path)
    if path.is_dir() and (pair := split_folders(path)):
        path = pair[0]
    return len({label for _, _, label in iter_rows(path, source)})
