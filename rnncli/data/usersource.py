"""Naming a user's corpus (a file or folder) and checking it before anything is read.

Kept light (no NumPy) so that argument errors stay instant.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from rnncli.errors import DataError, UsageError

FILE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": None}
#: The values `UserSource.format` may take (None: from the suffix, else sniffed from the content).
FORMATS = ("csv", "tsv", "jsonl")


@dataclass(frozen=True)
class UserSource:
    """Where a user's corpus comes from and how to read it; saved in the run config."""

    path: str
    text_col: str = "text"
    label_col: str = "label"
    test_path: str | None = None
    test_split: float = 0.2
    encoding: str = "utf-8"
    #: "csv", "tsv" or "jsonl" for every file named; None reads the suffix, or, for a file with
    #: none (`/dev/stdin`, `<(cmd)`) or a pipe, sniffs the first line.
    format: str | None = None
    #: Whether `"` quotes fields in TSV files. Tab-separated files in the wild (NSMC, most
    #: exports) have no quoting, so a `"` is text unless asked for; CSV is always RFC 4180.
    tsv_quotes: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, payload: dict) -> UserSource:
        """The source a run recorded; runs from before `tsv_quotes` existed read TSV quoted."""
        return cls(**{"tsv_quotes": True, **payload})


def is_user_path(name: str) -> bool:
    path = Path(name)
    return path.suffix.lower() in FILE_FORMATS or path.is_dir() or path.exists()


def absolute(name: str) -> str:
    """`name` made absolute, with its links resolved unless that loses the file.

    `/dev/stdin` and a process substitution's `/dev/fd/63` are links to `pipe:[123]`, which
    `Path.resolve()` turns into a path that does not exist; those keep their own name.
    """
    resolved = Path(name).resolve()
    if resolved.exists() or not Path(name).exists():
        return str(resolved)
    return os.path.abspath(name)


def file_format(path: Path, format: str | None = None) -> str | None:
    """The format of a file: given, from its suffix, or None when it must be sniffed.

    A regular file with an unknown suffix is refused; one without a suffix, and anything that
    is not a regular file (a pipe, `/dev/stdin`), are sniffed from their first line instead.
    """
    if format is not None:
        return format
    suffix = path.suffix.lower()
    kind = FILE_FORMATS.get(suffix)
    # `.txt` says nothing of the layout (NSMC's files are tab-separated): sniffed, like no suffix.
    if kind is not None or suffix in FILE_FORMATS or not suffix or not path.is_file():
        return kind
    raise UsageError(
        f"{path}: unknown format {path.suffix!r}",
        "use a .csv, .tsv, .txt or .jsonl file (or --format), or a folder with one sub-folder per class",
    )


def check_encoding(encoding: str) -> None:
    try:
        info = codecs.lookup(encoding)
    except (LookupError, ValueError, TypeError):
        raise UsageError(f"unknown encoding {encoding!r}") from None
    # rot13, base64, zlib and the like are codecs but not text encodings: bytes -> str fails.
    if not getattr(info, "_is_text_encoding", True):
        raise UsageError(
            f"{encoding!r} is not a text encoding", "pass the files' character set, such as utf-8 or latin-1"
        )


def check_source(source: UserSource) -> None:
    """Cheap checks before any reading: known format, existing files, sane split, known codec."""
    if source.format is not None and source.format not in FORMATS:
        raise UsageError(f"unknown format {source.format!r}", f"use one of {', '.join(FORMATS)}")
    for name in filter(None, (source.path, source.test_path)):
        path = Path(name)
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        if not path.is_dir():
            file_format(path, source.format)
    if not 0.0 < source.test_split < 1.0:
        raise UsageError(f"--test-split must be between 0 and 1 (exclusive), got {source.test_split}")
    check_encoding(source.encoding)
