"""Atomic file writes: a temporary file in the same folder, fsync, then rename.

A reader therefore sees either the old file or the whole new one, never half of it, even if the
writer is killed; two writers each rename their own temporary file, so neither sees the other's
partial bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary sibling of `path`; on clean exit it replaces `path`, on error it vanishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def atomic_create_text(path: Path, text: str) -> None:
    """Write `path` atomically, but only if it does not exist yet (`FileExistsError` otherwise).

    Two processes racing to create the same file cannot both win: the finished temporary file
    is hard-linked into place, and `link` refuses an existing target, unlike `rename`.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:
            # No hard links here (some network or FAT filesystems): exclusive create instead.
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_copy(source: Path, path: Path) -> None:
    """Make `path` a copy of the finished file `source`, atomically.

    A hard link where the filesystem allows one (instant, no second copy of the bytes): rnncli
    never modifies a finished file in place, so sharing its bytes is safe.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        atomic_replace(Path(tmp), path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_replace(tmp: Path, path: Path) -> None:
    """Move a finished temporary file (written by a library we do not control) into place."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(Path(path).parent)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every filesystem allows opening a directory.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    """The process's umask, read without changing it.

    mkstemp makes 0600 files; ours get the permissions an ordinary open() would. The classic
    `os.umask(0)` then `os.umask(mask)` would leave the umask at 0 for a moment, and a file that
    another thread creates in that moment would be world-writable; Linux shows the umask in
    /proc/self/status instead. Elsewhere it is the value read once when this module was imported.
    """
    mask = _proc_umask()
    return _IMPORT_UMASK if mask is None else mask


def _proc_umask() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _read_umask_once() -> int:
    """Read by setting and restoring it: done only where /proc has no umask, and only at import,
    before rnncli starts threads of its own."""
    mask = _proc_umask()
    if mask is not None:
        return mask
    with _UMASK_LOCK:
        mask = os.umask(0o077)  # the briefest wrong value errs on the private side
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()
_IMPORT_UMASK = _read_umask_once()
