"""Where corpora and caches live on this machine."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$RNNCLI_CACHE`, else `$XDG_CACHE_HOME/rnncli`, else `~/.cache/rnncli`."""
    explicit = os.environ.get("RNNCLI_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rnncli"


def data_dirs(data_dir: Path | None = None) -> list[Path]:
    """Folders searched for an archive, in order: `--data-dir` or `$RNNCLI_DATA`, then the cache."""
    dirs: list[Path] = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    elif os.environ.get("RNNCLI_DATA"):
        dirs.append(Path(os.environ["RNNCLI_DATA"]).expanduser())
    dirs.append(cache_dir())
    return dirs
