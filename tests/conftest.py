"""Shared fixtures: the real corpora, isolated state, and a runner for the real CLI.

Tests never read or write the user's own state. When the session starts, every place where
rnncli or a library it uses keeps state is pointed into one temporary folder for the session,
removed when the session ends: the runs root (`RNNCLI_RUNS`), the cache (`RNNCLI_CACHE`), Keras'
home (`KERAS_HOME`, where Keras writes `keras.json`), Hypothesis' example database, and the
temporary folder of the processes that tests start (`TMPDIR`). The user's own places (what those
variables named before, or their defaults, and `$RNNCLI_DATA`) are recorded first and compared
after every test and again, file by file, at the end: a test that changed one fails, and so does
a test that wrote into the session's default runs root instead of its own (`runs_dir`), since
that is where the user's would have been.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent
#: The folder holding the real corpora, from `$RNNCLI_DATA`; without it the tests that need
#: them skip.
DATA: Path | None = (
    Path(os.environ["RNNCLI_DATA"]).expanduser().resolve() if os.environ.get("RNNCLI_DATA") else None
)

SESSION_PREFIX = "rnncli-test-"
#: How the session's folders and the user's recorded places reach pytest-xdist workers.
HANDOFF = "RNNCLI_TEST_SESSION"
#: Walking a guarded folder stops after this many entries (a huge runs root stays cheap).
_MAX_ENTRIES = 20_000


def has_corpus(name: str) -> bool:
    return DATA is not None and (DATA / name).is_file()


def _needs(name: str):
    where = f"$RNNCLI_DATA ({DATA})" if DATA else "$RNNCLI_DATA (not set)"
    return pytest.mark.skipif(not has_corpus(name), reason=f"needs {name} in {where}")


needs_imdb = _needs("aclImdb_v1.tar.gz")
needs_reuters = _needs("reuters21578.tar.gz")


# --- isolation -------------------------------------------------------------------------------
# Set up in pytest_configure rather than at import: this module is imported twice (by pytest as
# `conftest`, and by the tests as `tests.conftest`), and only the first may make folders.


def _users_places() -> dict[str, Path]:
    """Where the user's own state lives, read from the environment before the session changes it."""
    env, home = os.environ, Path.home()
    cache_home = Path(env.get("XDG_CACHE_HOME") or home / ".cache")
    places = {
        "runs root": Path(env.get("RNNCLI_RUNS") or "runs"),
        "cache": Path(env.get("RNNCLI_CACHE") or cache_home / "rnncli"),
        "Keras home": Path(env.get("KERAS_HOME") or home / ".keras"),
        "Hypothesis database": Path(env.get("HYPOTHESIS_STORAGE_DIRECTORY") or ".hypothesis"),
    }
    if DATA is not None:
        places["corpora ($RNNCLI_DATA, read-only)"] = DATA
    return {name: path.expanduser().absolute() for name, path in places.items()}


def _stat(path: Path) -> tuple:
    try:
        info = path.lstat()
    except OSError:
        return ("missing",)
    return ("dir" if path.is_dir() and not path.is_symlink() else "file", info.st_size, info.st_mtime_ns)


def _shallow(path: Path) -> dict[str, tuple]:
    """The folder itself and its direct entries: cheap enough to compare after every test."""
    state = {str(path): _stat(path)}
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                state[entry.path] = _stat(Path(entry.path))
    except OSError:
        pass
    return state


def _deep(path: Path) -> dict[str, tuple]:
    """Every file and folder below `path` (up to _MAX_ENTRIES), for the comparison at the end."""
    state = {str(path): _stat(path)}
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            state[os.path.join(folder, name)] = _stat(Path(folder, name))
            if len(state) >= _MAX_ENTRIES:
                return state
    return state


def _changes(before: dict[str, tuple], after: dict[str, tuple], limit: int = 10) -> list[str]:
    lines = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, ("missing",)), after.get(key, ("missing",))
        if old != new:
            what = "created" if old == ("missing",) else "removed" if new == ("missing",) else "changed"
            lines.append(f"{key} ({what})")
    return lines[:limit] + ([f"... and {len(lines) - limit} more"] if len(lines) > limit else [])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_abandoned(parent: Path) -> None:
    """Remove what test sessions that died without cleaning up (kill -9) left: session folders
    whose process is gone, once half a day old (a process in another PID namespace sharing /tmp
    looks gone too), and the cache folders that earlier versions of this file left on every run."""
    for folder in parent.glob(f"{SESSION_PREFIX}*"):
        owner = folder.name[len(SESSION_PREFIX) :].split("-", 1)[0]
        with contextlib.suppress(OSError):
            age = time.time() - folder.stat().st_mtime
            if (owner.isdigit() and age > 43_200 and not _pid_alive(int(owner))) or (
                owner == "cache" and age > 86_400
            ):
                shutil.rmtree(folder, ignore_errors=True)


class Isolation:
    """The session's own state folders, and the user's places it watches."""

    def __init__(self) -> None:
        handed = os.environ.get(HANDOFF) if os.environ.get("PYTEST_XDIST_WORKER") else None
        if handed:
            # A pytest-xdist worker: the controller already moved the environment into its own
            # folder, so the user's places are the ones it recorded, and this worker's folders go
            # beside the controller's, not nested in its TMPDIR (Chromium's socket path would be
            # too long). The cache is the controller's, shared: its files are written atomically.
            parent = json.loads(handed)
            self.users = {name: Path(path) for name, path in parent["users"].items()}
            self.root = Path(parent["root"]) / os.environ["PYTEST_XDIST_WORKER"]
            self.root.mkdir()
            cache = Path(parent["root"]) / "cache"
        else:
            self.users = _users_places()
            _sweep_abandoned(Path(tempfile.gettempdir()))
            self.root = Path(tempfile.mkdtemp(prefix=f"{SESSION_PREFIX}{os.getpid()}-"))
            cache = self.root / "cache"
            cache.mkdir()
            os.environ[HANDOFF] = json.dumps(
                {"root": str(self.root), "users": {name: str(path) for name, path in self.users.items()}}
            )
        atexit.register(self.remove)
        #: Where a test that forgets `runs_dir` would write: the session's stand-in for the
        #: user's runs root, which must stay empty.
        self.default_runs = self.root / "default-runs"
        own = {
            "RNNCLI_RUNS": self.default_runs,
            # One cache for the whole session (parsing IMDB once is enough).
            "RNNCLI_CACHE": cache,
            "KERAS_HOME": self.root / "keras",
            "HYPOTHESIS_STORAGE_DIRECTORY": self.root / "hypothesis",
            # For the processes tests start (this one's tempfile folder is already fixed): what
            # they leave when killed, such as TensorFlow's autograph files, goes with the rest.
            "TMPDIR": self.root / "tmp",
        }
        for name, path in own.items():
            path.mkdir(exist_ok=name == "RNNCLI_CACHE")
            os.environ[name] = str(path)
        os.environ.setdefault("RNNCLI_NO_PROGRESS", "1")
        if DATA is not None:
            os.environ["RNNCLI_DATA"] = str(DATA)
        self.shallow = self.snapshot(_shallow)
        self.deep = self.snapshot(_deep)

    def snapshot(self, how) -> dict[str, tuple]:
        state: dict[str, tuple] = {}
        for path in self.users.values():
            state.update(how(path))
        return state

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


_isolation: Isolation | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _isolation
    if _isolation is None:
        _isolation = Isolation()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _isolation is not None:
        _isolation.remove()


def _outside(deep: bool) -> list[str]:
    """What changed in the user's places since the last look, and what landed in the default runs
    root; each is told once (the baselines move on, the default runs root is emptied). The quick
    look after each test sees the places and their direct entries; the deep one at the end sees
    every file, less what the quick looks already told."""
    if deep:
        changed = _changes(_isolation.deep, _isolation.snapshot(_deep))
    else:
        changed = _changes(_isolation.shallow, _isolation.snapshot(_shallow))
    if changed or deep:
        _isolation.shallow, _isolation.deep = _isolation.snapshot(_shallow), _isolation.snapshot(_deep)
    default_runs = _isolation.default_runs
    strays = sorted(str(path) for path in default_runs.iterdir()) if default_runs.is_dir() else []
    if strays:
        shutil.rmtree(default_runs, ignore_errors=True)
    default_runs.mkdir(exist_ok=True)
    lines = []
    if changed:
        lines += ["the user's own state changed (see the places in tests/conftest.py):"]
        lines += [f"  {line}" for line in changed]
    if strays:
        lines += ["it wrote into the default runs root, standing in for the user's (use runs_dir):"]
        lines += [f"  {line}" for line in strays[:10]]
    return lines


@pytest.fixture(autouse=True, scope="session")
def _session_stays_in_its_folders():
    """Fails the session (an error at its last test) if anything below the user's places changed."""
    yield
    lines = _outside(deep=True)
    if lines:
        pytest.fail(
            "the test session wrote outside its temporary folders:\n" + "\n".join(lines), pytrace=False
        )


@pytest.fixture(autouse=True)
def _test_stays_in_its_folders(request):
    """Fails the test that changed one of the user's places or wrote into the default runs root."""
    yield
    lines = _outside(deep=False)
    if lines:
        where = f"{request.node.nodeid} wrote outside its temporary folders:\n"
        pytest.fail(where + "\n".join(lines), pytrace=False)


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


@pytest.fixture(autouse=True)
def _debug_mode_stays_in_its_test(request):
    """Fails the test that left RNNCLI_DEBUG changed (`--debug` run in process sets it): left set,
    every later subprocess of the worker prints tracebacks, failing tests far from the cause."""
    before = os.environ.get("RNNCLI_DEBUG")
    yield
    after = os.environ.get("RNNCLI_DEBUG")
    if after != before:
        if before is None:
            os.environ.pop("RNNCLI_DEBUG", None)
        else:
            os.environ["RNNCLI_DEBUG"] = before
        pytest.fail(f"{request.node.nodeid} left RNNCLI_DEBUG={after!r} (use monkeypatch)", pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def _fresh_keras_state_per_module():
    """Keras' global state, TensorFlow's kernel cache and dead models freed after each test
    module: a session builds hundreds of models in one process."""
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()


@pytest.fixture
def tiny_csv(tmp_path) -> Path:
    """60 two-class texts (`c0`/`c1`) whose words tell the classes apart: trains in seconds."""
    path = tmp_path / "tiny.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(60):
            writer.writerow([("good film great" if i % 2 else "bad film awful") + f" w{i % 7}", f"c{i % 2}"])
    return path


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
