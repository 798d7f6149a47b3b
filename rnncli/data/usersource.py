"""Naming a user's corpus (a file or folder) and checking it before anything is read.

Kept light (no NumPy) so that argument errors stay instant.
"""

from __future__ import annotations

import codecs
from dataclasses import asdict, dataclass
from pathlib import Path

from rnncli.errors import DataError, UsageError

FILE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class UserSource:
    """Where a user's corpus comes from and how to read it; saved in the run config."""

    path: str
    text_col: str = "text"
    label_col: str = "label"
    test_path: str | None = None
    test_split: float = 0.2
    encoding: str = "utf-8"

    def to_dict(self) -> dict:
        return asdict(self)


def is_user_path(name: str) -> bool:
    path = Path(name)
    return path.suffix.lower() in FILE_FORMATS or path.is_dir() or path.exists()


def check_source(source: UserSource) -> None:
    """Cheap checks before any reading: known format, existing files, sane split, known codec."""
    for name in filter(None, (source.path, source.test_path)):
        path = Path(name)
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        if path.is_file() and path.suffix.lower() not in FILE_FORMATS:
            raise UsageError(
                f"{path}: unknown format {path.suffix!r}",
                "use a .csv, .tsv or .jsonl file, or a folder with one sub-folder per class",
            )
    if not 0.0 < source.test_split < 1.0:
        raise UsageError(f"--test-split must be between 0 and 1 (exclusive), got {source.test_split}")
    try:
        codecs.lookup(source.encoding)
    except LookupError:
        raise UsageError(f"unknown encoding {source.encoding!r}") from None
