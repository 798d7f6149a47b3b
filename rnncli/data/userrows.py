"""Reading rows from one user file: CSV, TSV or JSON Lines, as `(line, text, label)`.

The lowest layer of reading a user's corpus, kept apart from folders (`userfolders`) and from
splitting and encoding (`userfiles`) so each can be read on its own. A file is opened and read
exactly once, so a pipe (`<(cmd)`, `/dev/stdin`) works as well as a regular file; a file with no
suffix, or one that is not a regular file, has its format sniffed from its first line. Lines are
decoded one by one so an error names its line, and both lines and fields are bounded, so
`/dev/zero` or a file without newlines cannot exhaust memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import chain
from pathlib import Path

from rnncli.data.usersource import UserSource, file_format
from rnncli.errors import DataError

#: The longest CSV or TSV field, in characters (Python's own default is 131,072).
MAX_FIELD = 256 * 1024 * 1024
#: The longest line of a file, and the largest `.txt` file of a folder, in bytes. Reading stops
#: with an error past it, so `/dev/zero` or a file without newlines cannot exhaust memory.
MAX_LINE = 1024 * 1024 * 1024

Row = tuple[int, str, str]

# --------------------------------------------------------------------------------------------
# Reading lines: bytes from one open handle, decoded one by one so an error can name its line.


def _one_line(reason: object, most: int = 200) -> str:
    """An exception's text for a one-line message: control characters escaped, long text cut."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(reason)[: most + 1])
    return text if len(text) <= most else text[: most - 3] + "..."


def read_error(path: Path, exc: OSError) -> DataError:
    return DataError(f"{path}: cannot read ({_one_line(exc.strerror or exc)})")


def _raw_lines(handle, path: Path) -> Iterator[bytes]:
    number = 0
    while True:
        try:
            raw = handle.readline(MAX_LINE + 1)
        except OSError as exc:
            raise read_error(path, exc) from None
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE:
            raise DataError(f"{path}: line {number}: longer than {MAX_LINE:,} bytes")
        yield raw


def decode(raw: bytes, encoding: str, where: str, hint: str = "pass the file's encoding with --encoding"):
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: bytes that are not valid {encoding} (byte {exc.start})", hint) from None
    except Exception as exc:  # noqa: BLE001 - a codec may raise anything on hostile bytes
        raise DataError(f"{where}: cannot decode as {encoding} ({_one_line(exc)})", hint) from None


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
                raise read_error(path, exc) from None
            except Exception as exc:  # noqa: BLE001 - UnicodeError and whatever else a codec raises
                reason = _one_line(getattr(exc, "reason", exc))
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
        line = decode(raw, encoding, f"{path}: line {number}")
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
    # TSV as it comes (NSMC, most exports) has no quoting: a `"` is text unless asked for.
    quoting = csv.QUOTE_NONE if kind == "TSV" and not source.tsv_quotes else csv.QUOTE_MINIMAL
    reader = csv.reader(lines, delimiter=delimiter, strict=True, quoting=quoting)
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
        raise DataError(f"{path}: line {reader.line_num}: malformed {kind} ({_one_line(exc)})") from None


class _Number(str):
    """A JSON number, kept as the text it was written as: never converted, so a 10,000-digit
    integer costs nothing and `1` and `1.0` can be told apart only on purpose."""


class _Constant(str):
    """NaN, Infinity or -Infinity, which Python's json accepts."""


INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _canonical_number(literal: str) -> str:
    """One spelling per value for numbers that are labels: `1.0`, `1e0` and `1` all give `1`."""
    if INTEGER.fullmatch(literal):
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
            raise DataError(f"{path}: line {number}: malformed JSON ({_one_line(exc.msg)})") from None
        except RecursionError:
            raise DataError(f"{path}: line {number}: malformed JSON (nested too deeply)") from None
        except ValueError as exc:
            raise DataError(f"{path}: line {number}: malformed JSON ({_one_line(exc)})") from None
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


def file_rows(path: Path, source: UserSource) -> Iterator[Row]:
    """Rows of a CSV, TSV or JSON Lines file, which is opened and read exactly once."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below; a pipe may block here, as cat does
    except OSError as exc:
        raise read_error(path, exc) from None
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
