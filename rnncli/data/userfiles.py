"""A user's own labelled texts: CSV, TSV, JSON Lines, or a folder of class sub-folders.

Files are streamed once: each text is tokenised and stored as provisional word ids (numbered in
order of first appearance) in flat integer arrays, so memory holds the encoded arrays and the set
of distinct words, never the texts. Once every label is known the test split is drawn, word
frequencies are counted on the training rows only (a `bincount`, ties broken by first appearance
in the training rows), and the provisional ids are mapped to the book's rank-based ids. Every
problem is reported with the file and the line.

Each file is opened and read exactly once, so a pipe (`<(cmd)`, `/dev/stdin`) works as well as a
regular file; a file with no suffix, or one that is not a regular file, has its format sniffed
from its first line. In a folder only regular files inside the tree are read: symbolic links,
FIFOs and devices are skipped (and counted in one warning), as are hidden files and folders.
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import json
import os
import re
import stat
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from pathlib import Path

import numpy as np

from rnncli.data.corpus import EncodedCorpus, Sequences, stratified_split
from rnncli.data.usersource import UserSource, check_source, file_format
from rnncli.errors import DataError, UsageError
from rnncli.progress import NullReporter, Reporter
from rnncli.text import INDEX_FROM, OOV, START, Vocabulary, tokenize

#: The longest CSV or TSV field, in characters (Python's own default is 131,072).
MAX_FIELD = 256 * 1024 * 1024
#: The longest line of a file, and the largest `.txt` file of a folder, in bytes. Reading stops
#: with an error past it, so `/dev/zero` or a file without newlines cannot exhaust memory.
MAX_LINE = 1024 * 1024 * 1024

Row = tuple[int, str, str]

# --------------------------------------------------------------------------------------------
# Reading lines: bytes from one open handle, decoded one by one so an error can name its line.


def _read_error(path: Path, exc: OSError) -> DataError:
    return DataError(f"{path}: cannot read ({exc.strerror or exc})")


def _raw_lines(handle, path: Path) -> Iterator[bytes]:
    number = 0
    while True:
        try:
            raw = handle.readline(MAX_LINE + 1)
        except OSError as exc:
            raise _read_error(path, exc) from None
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE:
            raise DataError(f"{path}: line {number}: longer than {MAX_LINE:,} bytes")
        yield raw


def _decode(raw: bytes, encoding: str, where: str, hint: str = "pass the file's encoding with --encoding"):
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: bytes that are not valid {encoding} (byte {exc.start})", hint) from None
    except Exception as exc:  # noqa: BLE001 - a codec may raise anything on hostile bytes
        raise DataError(f"{where}: cannot decode as {encoding} ({exc})", hint) from None


def _decoded_lines(handle, path: Path, encoding: str) -> Iterator[str]:
    """Lines with their newlines; a byte-order mark on the first line is dropped."""
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-16", "utf-32")):
        # Wide encodings cannot be split on b"\n"; decode as a stream (line numbers approximate).
        text = io.TextIOWrapper(handle, encoding=encoding, newline="")
        number = 0
        while True:
            try:
                line = text.readline(MAX_LINE + 1)
            except OSError as exc:
                raise _read_error(path, exc) from None
            except Exception as exc:  # noqa: BLE001 - UnicodeError and whatever else a codec raises
                reason = getattr(exc, "reason", exc)
                raise DataError(
                    f"{path}: line {number + 1}: cannot decode as {encoding} ({reason})",
                    "pass the file's encoding with --encoding",
                ) from None
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE:
                raise DataError(f"{path}: line {number}: longer than {MAX_LINE:,} characters")
            yield line.removeprefix("\ufeff") if number == 1 else line
    for number, raw in enumerate(_raw_lines(handle, path), start=1):
        line = _decode(raw, encoding, f"{path}: line {number}")
        yield line.removeprefix("\ufeff") if number == 1 else line


def _sniff(first: str) -> str:
    """The format of a file without a suffix, from its first non-blank line."""
    if first.lstrip().startswith("{"):
        return "jsonl"
    return "tsv" if "\t" in first else "csv"


# --------------------------------------------------------------------------------------------
# Reading rows: each reader yields (line number, text, label) and raises DataError with a line.


def _shown(names: Iterable[object], most: int = 20) -> str:
    """Column names or keys for a one-line message: odd ones quoted, long ones and lists cut."""
    shown = []
    for name in list(names)[: most + 1]:
        text = str(name)
        text = text if text.isprintable() else repr(text)
        shown.append(text if len(text) <= 60 else text[:57] + "...")
    return ", ".join(shown[:most]) + (", ..." if len(shown) > most else "")


def _raise_field_limit() -> None:
    # A process-wide setting of the csv module; only ever raised, never lowered.
    if csv.field_size_limit() < MAX_FIELD:
        csv.field_size_limit(MAX_FIELD)


def _csv_rows(lines: Iterable[str], path: Path, source: UserSource, delimiter: str) -> Iterator[Row]:
    _raise_field_limit()
    kind = "TSV" if delimiter == "\t" else "CSV"
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next((row for row in reader if row), None)
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
                    f"{path}: no {role} column {wanted!r} (columns found: {_shown(columns)})",
                    f"name it with {flag}",
                )
            positions[role] = columns.index(wanted)
        for row in reader:
            if not row:
                continue
            if len(row) != len(columns):
                hint = None
                if len(row) > len(columns) and kind == "CSV":
                    hint = 'a text that holds a comma must be in double quotes: "what a film, really"'
                raise DataError(
                    f"{path}: line {reader.line_num}: {len(row)} fields, expected {len(columns)}", hint
                )
            yield reader.line_num, row[positions["text"]], row[positions["label"]]
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: malformed {kind} ({exc})") from None


class _Number(str):
    """A JSON number, kept as the text it was written as: never converted, so a 10,000-digit
    integer costs nothing and `1` and `1.0` can be told apart only on purpose."""


class _Constant(str):
    """NaN, Infinity or -Infinity, which Python's json accepts."""


_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _canonical_number(literal: str) -> str:
    """One spelling per value for numbers that are labels: `1.0`, `1e0` and `1` all give `1`."""
    if _INTEGER.fullmatch(literal):
        return "0" if literal.lstrip("-") == "0" else literal  # JSON forbids leading zeros
    number = Decimal(literal)
    if not number:
        return "0"
    if abs(number.adjusted()) <= 1000:
        text = format(number, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    # Huge or tiny: scientific, without trailing zeros (writing 1e400000000 out would not end).
    sign, digits, _ = number.as_tuple()
    mantissa = "".join(map(str, digits)).rstrip("0")
    point = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
    return f"{'-' if sign else ''}{mantissa[0]}{point}e{number.adjusted()}"


def _json_label(value: object, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _Constant):
        raise DataError(f"{where}: label {value} is not a class name")
    if isinstance(value, _Number):
        return _canonical_number(value)
    if isinstance(value, str):
        return value
    raise DataError(
        f"{where}: label is a JSON {'array' if isinstance(value, list) else 'object'}",
        "a label must be a string, a number or true/false",
    )


def _json_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _jsonl_rows(lines: Iterable[str], path: Path, source: UserSource) -> Iterator[Row]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_int=_Number, parse_float=_Number, parse_constant=_Constant)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: malformed JSON ({exc.msg})") from None
        except RecursionError:
            raise DataError(f"{path}: line {number}: malformed JSON (nested too deeply)") from None
        except ValueError as exc:
            raise DataError(f"{path}: line {number}: malformed JSON ({exc})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object")
        for key, flag in ((source.text_col, "--text-col"), (source.label_col, "--label-col")):
            if key not in record:
                raise DataError(
                    f"{path}: line {number}: no key {key!r} (keys found: {_shown(record)})",
                    f"name it with {flag}",
                )
        where = f"{path}: line {number}"
        yield number, _json_text(record[source.text_col]), _json_label(record[source.label_col], where)


def _file_rows(path: Path, source: UserSource) -> Iterator[Row]:
    """Rows of a CSV, TSV or JSON Lines file, which is opened and read exactly once."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below; a pipe may block here, as cat does
    except OSError as exc:
        raise _read_error(path, exc) from None
    with handle:
        info = os.fstat(handle.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise DataError(f"{path}: is a folder")
        if stat.S_ISREG(info.st_mode) and info.st_size == 0:
            raise DataError(f"{path}: the file is empty")
        lines = _decoded_lines(handle, path, source.encoding)
        seen: list[str] = []
        for line in lines:
            seen.append(line)
            if line.strip():
                break
        if not any(line.strip() for line in seen):
            raise DataError(f"{path}: the file is empty")
        kind = file_format(path, source.format) or _sniff(seen[-1])
        everything = chain(seen, lines)
        if kind == "jsonl":
            yield from _jsonl_rows(everything, path, source)
        else:
            yield from _csv_rows(everything, path, source, "\t" if kind == "tsv" else ",")


# --------------------------------------------------------------------------------------------
# Folders: FOLDER/<label>/**/*.txt, regular files only.


@dataclass
class _Skipped:
    """What a folder held that is never read: links and files that are not regular files."""

    links: int = 0
    special: int = 0
    example: str | None = None

    def add(self, path: Path | str, link: bool) -> None:
        if link:
            self.links += 1
        else:
            self.special += 1
        self.example = self.example or str(path)

    def report(self, folder: Path, reporter: Reporter) -> None:
        parts = []
        if self.links:
            parts.append(f"{self.links:,} symbolic link{'s' if self.links > 1 else ''}")
        if self.special:
            what = "entries that are" if self.special > 1 else "entry that is"
            parts.append(f"{self.special:,} .txt {what} not a regular file")
        if parts:
            reporter.warn(
                f"{folder}: skipped {' and '.join(parts)} (for example {self.example}); "
                "only regular files inside the folder are read"
            )


@dataclass
class _Folder:
    """A scanned folder of class folders: each class's `.txt` files, in a fixed order."""

    root: Path
    classes: dict[str, list[Path]]
    skipped: _Skipped = field(default_factory=_Skipped)

    def count(self) -> int:
        return sum(map(len, self.classes.values()))


def _entries(folder: Path | str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda entry: entry.name)
    except OSError as exc:
        raise _read_error(Path(folder), exc) from None


def _is_link_to_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # a stat of the target: never opens it
    except OSError:
        return False


def _class_files(class_dir: Path, skipped: _Skipped) -> list[Path]:
    """Regular, non-hidden `.txt` files under `class_dir`, at any depth, sorted by their path."""
    found: list[tuple[tuple[str, ...], Path]] = []
    stack: list[tuple[tuple[str, ...], Path]] = [((), class_dir)]
    while stack:
        parts, folder = stack.pop()
        for entry in _entries(folder):
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            if entry.is_symlink():
                if entry.name.endswith(".txt") or _is_link_to_dir(entry):
                    skipped.add(path, link=True)
            elif entry.is_dir(follow_symlinks=False):
                stack.append(((*parts, entry.name), path))
            elif entry.name.endswith(".txt"):
                if entry.is_file(follow_symlinks=False):
                    found.append(((*parts, entry.name), path))
                else:
                    skipped.add(path, link=False)
    return [path for _, path in sorted(found)]


def _scan(root: Path) -> _Folder:
    scanned = _Folder(root, {})
    for entry in _entries(root):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            if _is_link_to_dir(entry):
                scanned.skipped.add(root / entry.name, link=True)
        elif entry.is_dir(follow_symlinks=False):
            files = _class_files(root / entry.name, scanned.skipped)
            if files:
                scanned.classes[entry.name] = files
    if not scanned.classes:
        raise DataError(
            f"{root}: no class sub-folders holding .txt files",
            "lay it out as FOLDER/<label>/*.txt, one sub-folder per class",
        )
    return scanned


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO that took a file's place must not block the open
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _read_regular(path: Path, skipped: _Skipped) -> bytes | None:
    """The bytes of `path` if it is still a regular file (not a link, FIFO or device), else None."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # replaced by a link since the scan
            skipped.add(path, link=True)
            return None
        raise _read_error(path, exc) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            skipped.add(path, link=False)
            return None
        if info.st_size > MAX_LINE:
            raise DataError(f"{path}: larger than {MAX_LINE:,} bytes")
        try:
            return handle.read()
        except OSError as exc:
            raise _read_error(path, exc) from None


def _folder_rows(folder: _Folder, source: UserSource) -> Iterator[Row]:
    number = 0
    for label, files in folder.classes.items():
        for file in files:
            data = _read_regular(file, folder.skipped)
            if data is None:
                continue
            number += 1
            text = _decode(data, source.encoding, str(file), "pass the files' encoding with --encoding")
            yield number, text.removeprefix("\ufeff"), label


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
    rows = _folder_rows(_scan(path), source) if path.is_dir() else _file_rows(path, source)
    return _labelled(rows, path)


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def split_folders(folder: Path) -> tuple[Path, Path] | None:
    """`(train, test)` when a folder is laid out as aclImdb is: train/ and test/ folders."""
    train, test = folder / "train", folder / "test"
    if _is_real_dir(train) and _is_real_dir(test):
        return train, test
    return None


@dataclass
class _Plan:
    """What `load` reads: the training input, the test input if any, and what was set aside."""

    train: Path | _Folder
    test: Path | _Folder | None
    dropped: dict[str, int] = field(default_factory=dict)

    def name(self, part: Path | _Folder) -> Path:
        return part.root if isinstance(part, _Folder) else part


def _plan(source: UserSource) -> _Plan:
    path = Path(source.path)
    test_path = Path(source.test_path) if source.test_path else None
    if test_path is None and path.is_dir() and (pair := split_folders(path)):
        path, test_path = pair
    train: Path | _Folder = _scan(path) if path.is_dir() else path
    test: Path | _Folder | None = None
    if test_path is not None:
        test = _scan(test_path) if test_path.is_dir() else test_path
    plan = _Plan(train, test)
    if isinstance(train, _Folder) and isinstance(test, _Folder):
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
        assert isinstance(plan.train, _Folder) and isinstance(plan.test, _Folder)
        names = ", ".join(f"{name!r} ({count:,} files)" for name, count in plan.dropped.items())
        reporter.warn(
            f"{plan.train.root}: skipped {names}: no folder of that name in {plan.test.root}, "
            "so it is not a class (aclImdb's unlabelled 'unsup' reviews are set aside this way)"
        )


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


def _read(part: Path | _Folder, source: UserSource, encoder: _StreamEncoder, reporter: Reporter) -> int:
    path = part.root if isinstance(part, _Folder) else part
    task = reporter.task(f"Reading {path.name}", None, "texts")
    count = 0
    try:
        rows = _folder_rows(part, source) if isinstance(part, _Folder) else _file_rows(part, source)
        for line, text, label in _labelled(rows, path):
            encoder.add(line, text, label)
            count += 1
            if count % 1000 == 0:
                task.advance(1000)
    finally:
        task.close()
    if isinstance(part, _Folder):
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
    if labels and all(_INTEGER.fullmatch(label) for label in labels):
        return sorted(labels, key=lambda label: (_integer_key(label), label))
    return sorted(labels)


def _label_key(label: str) -> str:
    key = " ".join(unicodedata.normalize("NFKC", label).casefold().split())
    if _INTEGER.fullmatch(key):
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


def load(source: UserSource, seed: int, reporter: Reporter | None = None) -> EncodedCorpus:
    """Read, split (stratified, seeded) and encode a user's corpus."""
    reporter = reporter or NullReporter()
    check_source(source)
    plan = _plan(source)
    _report_dropped(plan, reporter)
    encoder = _StreamEncoder()
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
    _warn_similar(train_name, names, reporter)
    counts = Counter(encoder.labels[:train_count])
    for name, count in counts.items():
        if count == 1:
            reporter.warn(f"{train_name}: class {name!r} has only one example")
    everything = encoder.sequences()
    if plan.test is not None:
        train_rows = np.arange(train_count)
        test_rows = np.arange(train_count, len(labels))
        untested = sorted(set(names) - set(encoder.labels[train_count:]), key=names.index)
        if untested:
            # A warning, not an error: the model is sound and the test still measures the other
            # classes; a small test file may simply lack a rare class. The user should know.
            reporter.warn(
                f"{test_name}: no test example of class{'es' if len(untested) > 1 else ''} "
                f"{', '.join(map(repr, untested))}, which {train_name} trains; the test scores do not "
                "measure it"
            )
    # Rank words by frequency over the training rows only; ties by first appearance among them,
    # so nothing about the held-out rows (not even where they sit in the file) shapes the ranks.
    train_tokens, _ = _gather(everything, train_rows)
    frequency = np.bincount(train_tokens, minlength=len(encoder.ids))
    first = np.full(len(encoder.ids), len(train_tokens), dtype=np.int64)
    seen, position = np.unique(train_tokens, return_index=True)
    first[seen] = position
    order = np.lexsort((first, -frequency))
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
        Path(source.path).name,
        tuple(names),
        vocabulary,
        encoded(train_rows),
        labels[train_rows],
        encoded(test_rows),
        labels[test_rows],
    )


def count_classes(source: UserSource) -> int:
    """Number of classes `load` would train, reading labels only (for `summary`).

    A folder's classes are its folder names, so nothing in it is read; a file is read once.
    """
    check_source(source)
    plan = _plan(source)
    if isinstance(plan.train, _Folder):
        return len({name.strip() for name in plan.train.classes if name.strip()})
    return len({label for _, _, label in _labelled(_file_rows(plan.train, source), plan.train)})
