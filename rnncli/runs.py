"""Run directories: what a training run leaves behind, and finding it again.

A run directory holds `config.json` (everything needed to rebuild and re-encode), `vocab.json`,
`model.keras` (the best epoch so far), `history.json` (one entry per finished epoch),
`metrics.json` (test metrics) and `status.json`. Every file is written atomically, and
`status.json` says `complete` only after everything else is in place, so an interrupted or killed
run never looks finished.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from rnncli.atomic import atomic_write_text
from rnncli.errors import RunError

CONFIG = "config.json"
VOCAB = "vocab.json"
MODEL = "model.keras"
HISTORY = "history.json"
METRICS = "metrics.json"
STATUS = "status.json"
LATEST = "LATEST"

RUNNING, INTERRUPTED, COMPLETE = "running", "interrupted", "complete"


def runs_root() -> Path:
    """`$RNNCLI_RUNS`, else `runs/` under the current folder."""
    return Path(os.environ.get("RNNCLI_RUNS", "runs"))


def write_json(path: Path, payload: object) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> dict:
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read {path}: {exc}") from exc
    if not isinstance(payload, dict):
        raise RunError(f"{path} is malformed: expected a JSON object")
    return payload


def create(prefix: str, out: Path | None = None) -> Path:
    """A new, empty run directory; never one that another process is using."""
    if out is not None:
        out = Path(out)
        if out.exists() and any(out.iterdir()):
            raise RunError(f"{out} already exists and is not empty", "choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        return out
    root = runs_root()
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        candidate = root / (f"{prefix}-{stamp}" + (f"-{attempt + 1}" if attempt else ""))
        try:
            candidate.mkdir()  # atomic: fails if a concurrent run took the name
            return candidate
        except FileExistsError:
            continue
    raise RunError(f"cannot create a run directory under {root}")


def set_status(run_dir: Path, state: str, **extra: object) -> None:
    write_json(run_dir / STATUS, {"state": state, "updated": time.time(), **extra})


def status(run_dir: Path) -> dict:
    try:
        return read_json(run_dir / STATUS)
    except RunError:
        return {"state": "unknown"}


def mark_latest(run_dir: Path) -> None:
    root = runs_root()
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / LATEST, str(Path(run_dir).resolve()) + "\n")


def latest() -> Path:
    """The most recently completed run: the `LATEST` pointer if valid, else a scan of the root."""
    root = runs_root()
    pointer = root / LATEST
    if pointer.is_file():
        target = Path(pointer.read_text(encoding="utf-8").strip())
        if status(target).get("state") == COMPLETE:
            return target
    candidates = []
    if root.is_dir():
        for child in root.iterdir():
            state = status(child) if child.is_dir() else {}
            if state.get("state") == COMPLETE:
                candidates.append((float(state.get("updated", 0)), child))
    if not candidates:
        raise RunError(
            f"no completed run found under {root.resolve()}",
            "train one with 'rnncli train DATASET' or pass --model RUN",
        )
    return max(candidates)[1]


@dataclass(frozen=True)
class RunInfo:
    path: Path
    config: dict
    state: str

    @property
    def label_names(self) -> list[str]:
        return list(self.config["label_names"])


def open_run(path: Path | None) -> RunInfo:
    """Validate a run directory (or find the latest) and read its config."""
    run_dir = Path(path) if path is not None else latest()
    if not run_dir.is_dir():
        raise RunError(f"run directory {run_dir} does not exist")
    state = status(run_dir).get("state", "unknown")
    # An interrupted run kept its best model on purpose; a running or unknown one may be half-written.
    if state not in (COMPLETE, INTERRUPTED):
        raise RunError(f"run {run_dir} is not complete (state: {state})", "train again or pick another run")
    config = read_json(run_dir / CONFIG)
    for name in (MODEL, VOCAB):
        if not (run_dir / name).is_file():
            raise RunError(f"run {run_dir} has no {name}", "train again or pick another run")
    for key in ("label_names", "model", "dataset"):
        if key not in config:
            raise RunError(f"{run_dir / CONFIG} is malformed: no '{key}'")
    return RunInfo(run_dir, config, state)
