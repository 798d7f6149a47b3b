"""Finding a corpus archive locally, or downloading it from its public home."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from rnncli.atomic import atomic_open
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
) -> Path:
    """Download to the cache, trying each mirror; the file appears only once complete."""
    reporter = reporter or NullReporter()
    target = cache_dir() / filename
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                task = reporter.task(f"Downloading {filename}", int(length) if length else None, "B")
                try:
                    with atomic_open(target, "wb") as out:
                        while chunk := response.read(_CHUNK):
                            out.write(chunk)
                            task.advance(len(chunk))
                finally:
                    task.close()
            return target
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    where = os.environ.get("RNNCLI_DATA") or str(cache_dir())
    raise DownloadError(
        f"cannot find {filename} locally and cannot download it ({'; '.join(errors)})",
        f"put {filename} in {where} or point --data-dir / RNNCLI_DATA at a folder holding it",
    )
