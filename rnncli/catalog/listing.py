"""The runs under the runs root, read leniently: listing, filtering, sorting, settings.

Every entry is read as far as it can be: a run of an older rnncli lacks keys, a killed one lacks
files, a damaged one holds unreadable JSON; each is still listed with what could be read and,
when damaged, what is wrong. Nothing here raises for what is on disk, only for a bad request.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rnncli import runs
from rnncli.errors import RunError, UsageError

KILLED, DAMAGED, NOT_A_RUN = "killed", "damaged", "not a run"
#: Every status a listing shows; `killed` is a `running` run whose process is gone.
STATUSES = (runs.COMPLETE, runs.INTERRUPTED, runs.RUNNING, KILLED, runs.FAILED, DAMAGED, NOT_A_RUN)
#: `--sort` keys, each with its natural direction: best, newest, longest first; names A to Z.
SORT_KEYS = ("created", "accuracy", "minutes", "name")
#: Training settings that say where a run was written or read, not how it was trained.
_LOCAL_SETTINGS = ("out", "data_dir")
#: What `distribution` records of one machine (its devices, its task), not of how the run trained.
_MACHINE_SPECIFIC = ("devices", "task", "job")


@dataclass
class Run:
    """One entry of the runs root, read as far as it could be."""

    path: Path
    status: str
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    recorded: dict = field(default_factory=dict)  # status.json
    problem: str | None = None
    latest: bool = False
    #: history.json's own `best_epoch`, for runs that stopped before metrics.json.
    history_best: int | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model(self) -> dict:
        return _dict(self.config.get("model"))

    @property
    def training(self) -> dict:
        return _dict(self.config.get("training"))

    @property
    def distribution(self) -> dict:
        return _dict(self.config.get("distribution"))

    @property
    def dataset(self) -> str | None:
        return _text(self.config.get("dataset"))

    @property
    def arch(self) -> str | None:
        return _text(self.model.get("arch")) or _text(self.training.get("arch"))

    @property
    def tokenizer(self) -> str | None:
        """The tokenizer saved with the run (`tokenizer.name`), else the one asked for; None before both."""
        saved = _dict(self.config.get("tokenizer")).get("name")
        return _text(saved) or _text(self.training.get("tokenizer"))

    @property
    def best_epoch(self) -> int | None:
        for value in (self.metrics.get("best_epoch"), self.history_best, self.recorded.get("best_epoch")):
            if _count(value):
                return value
        return None

    @property
    def epochs_run(self) -> int | None:
        return _count(self.metrics.get("epochs_run")) or (len(self.history) or None)

    @property
    def test_accuracy(self) -> float | None:
        return _number(self.metrics.get("test_accuracy"))

    @property
    def test_loss(self) -> float | None:
        return _number(self.metrics.get("test_loss"))

    @property
    def macro_f1(self) -> float | None:
        return _number(self.metrics.get("macro_f1"))

    @property
    def minutes(self) -> float | None:
        seconds = _number(self.metrics.get("train_seconds"))
        if seconds is None and self.history:
            seconds = sum(_number(entry.get("seconds")) or 0.0 for entry in self.history)
        return None if seconds is None else seconds / 60

    @property
    def created(self) -> str | None:
        return _text(self.config.get("created"))

    @property
    def created_time(self) -> float:
        """Seconds since the epoch: `created`, else when config.json (or the entry) was written."""
        with contextlib.suppress(TypeError, ValueError):
            return datetime.strptime(self.created or "", "%Y-%m-%dT%H:%M:%S%z").timestamp()
        for path in (self.path / runs.CONFIG, self.path / runs.STATUS, self.path):
            with contextlib.suppress(OSError):
                return path.lstat().st_mtime
        return 0.0

    @property
    def completed_time(self) -> float:
        """When it became complete (status.json `updated`), the order `LATEST` follows."""
        return _number(self.recorded.get("updated")) or self.created_time

    @property
    def workers(self) -> int:
        return _count(self.distribution.get("workers")) or 1

    @property
    def is_run(self) -> bool:
        return self.status != NOT_A_RUN

    def to_dict(self) -> dict:
        """The listing's record (`--json`): what the table shows, unrounded."""
        return {
            "name": self.name,
            "path": str(self.path),
            "status": self.status,
            "latest": self.latest,
            "dataset": self.dataset,
            "arch": self.arch,
            "tokenizer": self.tokenizer,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "macro_f1": self.macro_f1,
            "minutes": self.minutes,
            "created": self.created,
            "workers": self.workers,
            "problem": self.problem,
        }


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> float | None:
    """A finite number, or None: old runs lack keys, strict JSON records NaN as null."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value) if math.isfinite(value) else None
    except OverflowError:
        return None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


# --- reading ---------------------------------------------------------------------------------


def read_run(path: Path, latest: Path | None = None) -> Run:
    """An entry of the runs root as a `Run`; never raises for what is on disk."""
    path = Path(path)
    has = {name: _exists(path / name) for name in (runs.STATUS, runs.CONFIG)}
    if not path.is_dir() or path.name.startswith(".") or not any(has.values()):
        what = f"no {runs.STATUS} or {runs.CONFIG}"
        what = "not a directory" if not path.is_dir() else "hidden" if path.name.startswith(".") else what
        return Run(path, NOT_A_RUN, problem=what)
    problems: list[str] = []
    try:
        recorded = runs.read_status(path) or {}
    except RunError as exc:
        recorded = {}
        problems.append(exc.message)
    config = _optional_json(path / runs.CONFIG, problems)
    metrics = _optional_json(path / runs.METRICS, problems)
    history_file = _optional_json(path / runs.HISTORY, problems)
    history = _clean_history(history_file.get("epochs", []))
    if history is None:
        problems.append(f"{path / runs.HISTORY} is malformed: 'epochs' is not a list of numbered epochs")
        history = []
    state = recorded.get("state")
    if not recorded and not problems:
        problems.append(f"no {runs.STATUS}")
    if state == runs.RUNNING and not runs.process_alive(path, recorded):
        state = KILLED
    if state in (runs.COMPLETE, runs.INTERRUPTED) and not has[runs.CONFIG]:
        problems.append(f"no {runs.CONFIG}")
    return Run(
        path,
        DAMAGED if problems else str(state),
        config,
        metrics,
        history,
        recorded,
        problem="; ".join(problems) or None,
        latest=latest is not None and _same(path, latest),
        history_best=_count(history_file.get("best_epoch")),
    )


def _clean_history(entries: object) -> list[dict] | None:
    """history.json's epochs with only the finite figures (a failed run records NaN losses, which
    strict JSON and charts refuse); None when it is not a list of numbered epochs."""
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict) and _count(entry.get("epoch")) for entry in entries
    ):
        return None
    return [{key: value for key, value in entry.items() if _number(value) is not None} for entry in entries]


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _same(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        return os.path.realpath(a) == os.path.realpath(b)
    return False


def _optional_json(path: Path, problems: list[str]) -> dict:
    """The file's JSON object; `{}` when absent (old or unfinished runs); a problem when unreadable."""
    if not _exists(path):
        return {}
    try:
        return runs.read_json(path)
    except RunError as exc:
        problems.append(exc.message)
        return {}


def latest_run() -> Path | None:
    """What `predict` and `evaluate` would use by default, or None when there is no complete run."""
    try:
        return runs.latest()
    except (RunError, OSError):
        return None


def scan(root: Path | None = None) -> list[Run]:
    """Every entry of the runs root except hidden ones (`.jobs`), `LATEST` and tune studies."""
    root = runs.runs_root() if root is None else root
    if not root.exists() and not root.is_symlink():
        return []
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        raise RunError(f"cannot list the runs in {root}: {exc.strerror or exc}") from None
    latest = latest_run()
    return [
        read_run(entry, latest)
        for entry in entries
        if not entry.name.startswith(".") and entry.name != runs.LATEST and not _is_study(entry)
    ]


#: Files of an `rnncli tune` study folder (`runs/tune-NAME/`): not a run, so not listed; its best
#: run sits beside it in the runs root.
_STUDY_FILES = ("trials.jsonl", "journal.log", "study.json")


def _is_study(entry: Path) -> bool:
    return entry.name.startswith("tune-") and any((entry / name).is_file() for name in _STUDY_FILES)


def select(
    found: list[Run],
    dataset: str | None = None,
    arch: str | None = None,
    statuses: list[str] | None = None,
    sort: str = "created",
    reverse: bool = False,
) -> list[Run]:
    """Runs that pass every filter, in `sort` order; runs lacking the sort value go last."""
    check_choice("--sort", sort, SORT_KEYS)
    for status in statuses or ():
        check_choice("--status", status, STATUSES)
    chosen = [
        run
        for run in found
        if (dataset is None or run.dataset == dataset)
        and (arch is None or run.arch == arch)
        and (not statuses or run.status in statuses)
    ]
    key = {
        "created": lambda run: run.created_time if run.is_run else None,
        "accuracy": lambda run: run.test_accuracy,
        "minutes": lambda run: run.minutes,
        "name": lambda run: run.name,
    }[sort]
    present = [run for run in chosen if key(run) is not None]
    present.sort(key=key, reverse=(sort != "name") != reverse)
    return present + [run for run in chosen if key(run) is None]


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, got {value!r}")


def find(name: str | Path) -> Path:
    """A run named as a path, or by its name under the runs root (as `rnncli runs` lists it)."""
    given = Path(name)
    # A bare name is looked up in the runs root first, as listed; anything else is a path.
    bare = len(given.parts) == 1 and str(given) not in (".", "..")
    for candidate in (runs.runs_root() / given, given) if bare else (given,):
        if _exists(candidate):
            return candidate
    raise RunError(f"no run {str(name)!r}: neither a path nor a run under {runs.runs_root()}")


def describe(name: str | Path | None) -> Run:
    """One run for `runs show` and `runs compare`: the named one, or the latest complete run."""
    path = find(name) if name is not None else runs.latest()
    run = read_run(path, latest_run())
    if not run.is_run:
        raise RunError(f"{path} is not an rnncli run ({run.problem})")
    return run


def settings(run: Run) -> dict[str, object]:
    """The run's settings as flat `key: value` pairs: the model's, then training's, then how it
    was distributed (`distribution.workers`, ...); nested sections as `source.path` and the like."""
    values: dict[str, object] = {"dataset": run.dataset}
    values.update(_flat(run.model))
    for key, value in _flat(run.training).items():
        if key not in _LOCAL_SETTINGS and key != "dataset":
            values.setdefault(key, value)
    placement = {k: v for k, v in run.distribution.items() if k not in _MACHINE_SPECIFIC}
    values.update(_flat(placement, "distribution."))
    return values


def _flat(payload: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in payload.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differences(compared: list[Run]) -> list[tuple[str, list[object]]]:
    """The settings whose values are not the same in every run (a missing one differs too)."""
    each = [settings(run) for run in compared]
    keys = list(dict.fromkeys(key for values in each for key in values))
    rows = [(key, [values.get(key) for values in each]) for key in keys]
    return [(key, values) for key, values in rows if any(v != values[0] for v in values[1:])]
