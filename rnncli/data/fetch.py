"""Finding a corpus archive locally, or downloading it from its public home.

A download is checked before it is kept: its length against `Content-Length`, its SHA-256
against the published one where we know it. Its digest is then recorded beside it
(`NAME.sha256`, in `sha256sum` format, with the file's inode and modification time on a comment
line), so that later damage on disk is caught before the archive is trusted again.

The record is also how rnncli knows a file is its own download: only an archive in the cache
whose record names that very file (same name, inode and modification time: a file put in its
place, or written to since, is not the one rnncli downloaded) may ever be replaced. Anything
else, even in the cache folder (which may also be the user's `--data-dir`), is the user's.
"""

from __future__ import annotations

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


def candidate_folders(folder_name: str | None = None, data_dir: Path | None = None) -> list[Path]:
    """Each data folder in search order, each followed by its `folder_name` sub-folder if given;
    a folder named twice (`--data-dir` being the cache folder) is listed once."""
    folders: list[Path] = []
    for folder in data_dirs(data_dir):
        for candidate in (folder, folder / folder_name) if folder_name else (folder,):
            if all(candidate.resolve() != seen.resolve() for seen in folders):
                folders.append(candidate)
    return folders


def locate_together(
    filenames: Sequence[str],
    folder_name: str | None = None,
    data_dir: Path | None = None,
) -> Path | None:
    """The first folder holding every one of `filenames`, for a corpus published as several files.

    Files are never taken from different folders: a training file from one copy and a test file
    from another may be two draws of the corpus, sharing reviews between the splits.
    """
    for folder in candidate_folders(folder_name, data_dir):
        if all((folder / name).is_file() for name in filenames):
            return folder
    return None


def download(
    filename: str,
    urls: Sequence[str],
    reporter: Reporter | None = None,
    timeout: float = 30.0,
    sha256: str | None = None,
    data_dir: Path | None = None,
    failure: str | None = None,
    together: Sequence[str] = (),
) -> Path:
    """Download to the cache, trying each mirror; the file appears only once complete and checked.

    A file already at the cache path (a damaged earlier download) is replaced only then, so a
    failed attempt leaves it as it was. `data_dir` is the folder to name in the offline hint;
    `failure` replaces the start of the error ("cannot find NAME locally ...") when it fails;
    `together` names every file of a corpus published as several, which the hint must name all
    of, since a copy put by hand is used only with its companions beside it.
    """
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
            _write_record(target, digest.hexdigest())
            return target
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    hint = offline_hint(together or filename, data_dir, cache_ok=failure is None)
    failure = failure or f"cannot find {filename} locally and cannot download it"
    raise DownloadError(f"{failure} ({'; '.join(errors)})", hint)


def offline_hint(filename: str | Sequence[str], data_dir: Path | None = None, cache_ok: bool = True) -> str:
    """Where to put a copy of `filename` (or of each of several files) by hand, never where it
    would be taken for our download.

    A file the user puts in the cache folder has no download record, so it is theirs and never
    replaced; but one copied over a damaged download of ours would keep its inode and still
    count as ours, so when one is there (not `cache_ok`) the cache folder is not suggested.
    """
    names = [filename] if isinstance(filename, str) else list(filename)
    what, it = " and ".join(names), "them" if len(names) > 1 else "it"
    where = data_dir or os.environ.get("RNNCLI_DATA")
    if where and (cache_ok or Path(where).expanduser().resolve() != cache_dir().resolve()):
        return f"put {what} in {where} (searched before the cache)"
    if cache_ok:
        return f"put {what} in {cache_dir()} or point --data-dir / RNNCLI_DATA at a folder holding {it}"
    return f"put a good {what} in another folder and point --data-dir or RNNCLI_DATA at {it}"


def digest_path(archive: Path) -> Path:
    return Path(archive).with_name(Path(archive).name + ".sha256")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


_MARK = "# rnncli download:"


def _identity(path: Path) -> str:
    """What tells this file from one put in its place (inode numbers alone are soon reused)."""
    stat = Path(path).stat()
    return f"inode {stat.st_ino} mtime_ns {stat.st_mtime_ns}"


def _write_record(archive: Path, hexdigest: str) -> None:
    """Record the digest and identity of the file just renamed into place: our download."""
    record = f"{hexdigest}  {archive.name}\n{_MARK} {_identity(archive)}\n"
    atomic_write_text(digest_path(archive), record)


def read_record(archive: Path) -> tuple[str, str] | None:
    """`(SHA-256, identity)` from the download record beside `archive`, or None if there is no
    readable record of ours for a file of that name (records written before identities were
    kept count as none: they cannot tell our file from one put in its place)."""
    try:
        lines = digest_path(archive).read_text(encoding="utf-8").splitlines()
        digest, name = lines[0].split(maxsplit=1)
        marks = [line[len(_MARK) :].strip() for line in lines[1:] if line.startswith(_MARK)]
    except (OSError, ValueError, IndexError):
        return None
    if name.lstrip("*") != Path(archive).name or len(marks) != 1:
        return None
    return digest, marks[0]


def is_download(path: Path) -> bool:
    """True only for rnncli's own download: an archive in the cache that its record names.

    Only such a file may be replaced when damaged (by the disk: its time is unchanged). Any
    other archive is the user's and is never deleted, wherever it lies: in `--data-dir`,
    `$RNNCLI_DATA`, or the cache folder itself.
    """
    path = Path(path)
    try:
        if not path.is_file() or path.parent.resolve() != cache_dir().resolve():
            return False
        record = read_record(path)
        return record is not None and record[1] == _identity(path)
    except OSError:
        return False


def check_download(path: Path) -> str | None:
    """Why a downloaded archive no longer matches the digest recorded when it arrived, or None."""
    record = read_record(path)
    if record is None:
        return None
    actual = sha256_of(path)
    expected = record[0]
    return None if actual == expected else f"SHA-256 {actual[:12]}..., recorded {expected[:12]}..."
