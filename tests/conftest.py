"""Shared fixtures: the real corpora, an isolated cache, and a runner for the real CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("RNNCLI_DATA", REPO.parent / "shared" / "datasets")).resolve()

# One cache for the whole session (parsing IMDB once is enough), never the user's own.
_SESSION_CACHE = tempfile.mkdtemp(prefix="rnncli-test-cache-")
os.environ["RNNCLI_CACHE"] = _SESSION_CACHE
os.environ["RNNCLI_DATA"] = str(DATA)
os.environ.setdefault("RNNCLI_NO_PROGRESS", "1")


def has_corpus(name: str) -> bool:
    return (DATA / name).is_file()


needs_imdb = pytest.mark.skipif(
    not has_corpus("aclImdb_v1.tar.gz"), reason="aclImdb_v1.tar.gz not in RNNCLI_DATA"
)
needs_reuters = pytest.mark.skipif(
    not has_corpus("reuters21578.tar.gz"), reason="reuters21578.tar.gz not in RNNCLI_DATA"
)


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs"
    monkeypatch.setenv("RNNCLI_RUNS", str(path))
    return path


def run_cli(*args: str, input: bytes | None = None, env: dict | None = None, timeout: float = 600):
    """Run `python -m rnncli ARGS` in a subprocess, as a user's shell would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rnncli", *args],
        input=input,
        capture_output=True,
        env=full_env,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli


def make_tar(path: Path, members: dict[str, bytes | None], mode: str = "w:gz") -> Path:
    """A tar archive of regular files (None makes a directory)."""
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path
