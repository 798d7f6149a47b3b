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


#: Words of several scripts, so generated input hits the vocabulary as well as missing it.
TINY_WORDS = ("good", "bad", "film", "фильм", "좋은", "שלום", "مرحبا", "café", "naïve", "日本")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A complete run directory with a small model (one epoch on random ids), made in seconds.

    For tests of what predict does with its input, which need a real model but not a good one;
    it has a LiteRT export, so `rnncli predict --model` on it never imports TensorFlow.
    """
    import numpy as np

    from rnncli import runs
    from rnncli.inference import LITERT_FILE
    from rnncli.models import persist
    from rnncli.models.export import export_litert
    from rnncli.models.factories import build
    from rnncli.models.registry import ModelSpec
    from rnncli.text import Vocabulary

    spec = ModelSpec("lstm", 16, 12, 3, 4, 4, 0.0, mask=False)
    model = build(spec)
    rng = np.random.RandomState(0)
    x = rng.randint(0, spec.num_words, size=(64, spec.maxlen))
    model.fit(x, rng.randint(0, 3, size=64).astype("int32"), epochs=1, verbose=0)
    run = tmp_path_factory.mktemp("tiny") / "run"
    run.mkdir()
    persist.save(model, run / runs.MODEL)
    export_litert(model, spec, run / LITERT_FILE, x[:8])
    Vocabulary(TINY_WORDS).save(run / runs.VOCAB)
    config = {"dataset": "tiny", "label_names": ["alpha", "beta", "gamma"], "model": spec.to_dict()}
    runs.write_json(run / runs.CONFIG, config)
    runs.set_status(run, runs.COMPLETE)
    return run
