"""Class folders of a user's corpus: FOLDER/<label>/**/*.txt, one text per file.

Kept apart from reading files (`userrows`) and from splitting and encoding (`userfiles`) because
a folder's safety rules are a job of their own: only regular files inside the tree are read, and
symbolic links, FIFOs and devices are skipped (and counted in one warning), as are hidden files
and folders. Each file is checked again as it is opened, so one swapped for a link or a FIFO after
the scan is skipped too, never followed or waited on.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rnncli.data.userrows import MAX_LINE, Row, decode, read_error
from rnncli.data.usersource import UserSource
from rnncli.errors import DataError
from rnncli.progress import Reporter


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
class Folder:
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
        raise read_error(Path(folder), exc) from None


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


def scan(root: Path) -> Folder:
    scanned = Folder(root, {})
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
        raise read_error(path, exc) from None
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
            raise read_error(path, exc) from None


def folder_rows(folder: Folder, source: UserSource) -> Iterator[Row]:
    number = 0
    for label, files in folder.classes.items():
        for file in files:
            data = _read_regular(file, folder.skipped)
            if data is None:
                continue
            number += 1
            text = decode(data, source.encoding, str(file), "pass the files' encoding with --encoding")
            yield number, text.removeprefix("\ufeff"), label


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
