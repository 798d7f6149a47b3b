"""Finding a corpus archive locally, or downloading it from its public home.

A download is checked before it is kept: its length against `Content-Length`, its SHA-256
against the published one where we know it. Its digest is then recorded beside it
(`NAME.sha256`), so that later damage on disk is caught before the archive is trusted again.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from rnncli.atomic import atomic_open, atomic_write_text
from rnncli.data.locations import cache_dir, data_dirs
from rnncli.errors import DownloadError
from rnncli.progress import NullReporter, Reporter

_CHUNK = 1 << 20


def locate(
    filename: str,
    folder_name: str | None = None,
    data_dir: Path | None = None,
) -> Path | None:
    """The first local copy: the archive itself or, if given, an already extracted folder."""
    for folder in data_dirs(data_dir):
        if folder_name and (folder / folder_name).is_dir():
            return folder / folder_name
        if (folder / filename).is_file():
            return folder / filename
    return None


def download(
    filename: str,
    urls: Sequence[str],
    reporter: Reporter | None = None,
    timeout: float = 30.0,
    sha256: str | None = None,
) -> Path:
    """Download to the cache, trying each mirror; the file appears only once complete and checked."""
    reporter = reporter or NullReporter()
    target = cache_dir() / filename
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                task = reporter.task(f"Downloading {filename}", int(length) if length else None, "B")
                digest = hashlib.sha256()
                received = 0
                try:
                    with atomic_open(target, "wb") as out:
                        while chunk := response.read(_CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                            received += len(chunk)
                            task.advance(len(chunk))
                        # Raising here discards the temporary file: a short or wrong download
                        # never takes the archive's name.
                        if length is not None and received != int(length):
                            raise ValueError(f"truncated: got {received} of {length} bytes")
                        if sha256 is not None and digest.hexdigest() != sha256:
                            raise ValueError(
                                f"checksum mismatch: SHA-256 {digest.hexdigest()}, expected {sha256}"
                            )
                finally:
                    task.close()
            atomic_write_text(digest_path(target), f"{digest.hexdigest()}  {filename}\n")
            return target
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    where = os.environ.get("RNNCLI_DATA") or str(cache_dir())
    raise DownloadError(
        f"cannot find {filename} locally and cannot download it ({'; '.join(errors)})",
        f"put {filename} in {where} or point --data-dir / RNNCLI_DATA at a folder holding it",
    )


def digest_path(archive: Path) -> Path:
    return Path(archive).with_name(Path(archive).name + ".sha256")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_download(path: Path) -> bool:
    """True for an archive in rnncli's cache, which rnncli may delete and fetch again.

    Archives in `--data-dir` or `$RNNCLI_DATA` are the user's and are never deleted.
    """
    path = Path(path)
    return path.is_file() and path.parent.resolve() == cache_dir().resolve()


def check_download(path: Path) -> str | None:
    """Why a downloaded archive no longer matches the digest recorded when it arrived, or None."""
    record = digest_path(path)
    if not record.is_file():
        return None
    try:
        expected = record.read_text(encoding="utf-8").split()[0]
    except (OSError, ValueError, IndexError):
        return f"unreadable checksum record {record.name}"
    actual = sha256_of(path)
    return None if actual == expected else f"SHA-256 {actual[:12]}..., recorded {expected[:12]}..."


def discard(path: Path) -> None:
    """Delete a damaged download and its digest record, so the next fetch starts clean."""
    for stale in (Path(path), digest_path(path)):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
