"""Use case: the search's best settings trained as an ordinary run, and tested once.

The run lives in the runs root beside the others (`tune-NAME-trialN`), so `predict`, `evaluate`,
`serve` and `rnncli runs` treat it as any run; its settings come from the study's `best.json`,
the same file `rnncli train --preset-file` reads, so what the search found and what the run
used cannot drift apart.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rnncli import runs
from rnncli.errors import RunError
from rnncli.progress import Reporter
from rnncli.settings import resolve
from rnncli.tuning.events import SearchResult
from rnncli.tuning.records import BEST_PRESET
from rnncli.tuning.search import PASSED_THROUGH, TuneOptions

STUDY_RECORD = "study.json"


def best_run_dir(result: SearchResult) -> Path:
    assert result.best is not None
    return runs.runs_root() / f"tune-{result.name}-trial{result.best.number}"


def train_best(options: TuneOptions, result: SearchResult, events, reporter: Reporter):
    """Train (or finish, or keep) the best trial's run; `(TrainResult or None, run dir, what happened)`.

    A complete run of that trial is kept as it is; an interrupted one is resumed; anything else
    there is refused rather than overwritten.
    """
    from rnncli import training

    run_dir = best_run_dir(result)
    if run_dir.exists():
        state = runs.read_status(run_dir).get("state")
        if state == runs.COMPLETE:
            _record(result, run_dir)
            return None, run_dir, "kept"
        if state == runs.INTERRUPTED:
            trained = training.resume(run_dir, options.given.get("data_dir"), events, reporter)
            _record(result, run_dir)
            return trained, run_dir, "resumed"
        raise RunError(
            f"{run_dir} exists and is {state or 'not a complete run'}",
            f"remove it ('rnncli runs rm {run_dir.name}') and run the same tune command again",
        )
    given = {key: value for key, value in options.given.items() if key in PASSED_THROUGH}
    given.update(seed=result.seed, preset_file=result.folder / BEST_PRESET, tokenizer=None)
    settings = replace(resolve(options.dataset, **given), out=run_dir)
    trained = training.train(settings, events, reporter)
    _record(result, run_dir)
    return trained, run_dir, "trained"


def _record(result: SearchResult, run_dir: Path) -> None:
    """study.json: the study's name, best trial and run, for a person or `rnncli runs` to follow."""
    best = result.best
    runs.write_json(
        result.folder / STUDY_RECORD,
        {
            "study": result.name,
            "seed": result.seed,
            "best_trial": best.number if best else None,
            "best_val_loss": best.val_loss if best else None,
            "best_run": str(run_dir),
            "preset_file": str(result.folder / BEST_PRESET),
        },
    )
