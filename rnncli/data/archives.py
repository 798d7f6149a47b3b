"""Reading tar archives without trusting them.

Corpora are read member by member straight from the archive; nothing is extracted to disk. Every
member is still checked as if it were about to be extracted: a name that is absolute or climbs
out with `..`, a symbolic or hard link, a device or FIFO, or an archive that inflates past a sane
bound makes the whole archive refused, since such an archive is not the corpus we expect.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from rnncli.errors import DataError, UnsafeArchiveError

#: The real corpora inflate to about 0.2 GB (IMDB) and 0.03 GB (Reuters); anything past this is
#: not one of them and is treated as a decompression bomb.
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_MEMBERS = 200_000
_CHUNK = 1 << 20


def check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Raise if extracting `member` could write outside the target or create a link or device."""
    name = member.name
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive}: refused member {name!r}: absolute path")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"{archive}: refused member {name!r}: path leaves the archive")
    if member.issym() or member.islnk():
        raise UnsafeArchiveError(f"{archive}: refused member {name!r}: links are not allowed")
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"{archive}: refused member {name!r}: not a regular file")


def iter_files(archive: Path) -> Iterator[tuple[str, bytes]]:
    """Yield `(name, content)` for every regular file, in archive order, checking each member."""
    try:
        with open(archive, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            # GzipFile checks the CRC and length at the end and raises EOFError on truncation,
            # which tarfile's stream mode alone would take for a normal end of archive.
            stream = gzip.GzipFile(fileobj=raw) if compressed else raw
            yield from _members(stream, archive)
            while stream.read(_CHUNK):
                pass
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise DataError(
            f"{archive}: corrupt or truncated archive ({exc})", "delete it so rnncli fetches it again"
        ) from exc


def _members(stream, archive: Path) -> Iterator[tuple[str, bytes]]:
    total = 0
    count = 0
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            count += 1
            if count > MAX_MEMBERS:
                raise UnsafeArchiveError(f"{archive}: refused: more than {MAX_MEMBERS} members")
            check_member(member, archive)
            if not member.isfile():
                continue
            total += member.size
            if total > MAX_TOTAL_BYTES:
                raise UnsafeArchiveError(
                    f"{archive}: refused: inflates past {MAX_TOTAL_BYTES // 1024**2} MiB"
                )
            handle = tar.extractfile(member)
            data = handle.read() if handle else b""
            if len(data) != member.size:
                raise DataError(f"{archive}: member {member.name} is truncated")
            yield PurePosixPath(member.name).as_posix().removeprefix("./"), data
