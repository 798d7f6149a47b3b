"""Use case: train a model on a corpus and leave a complete run directory behind; or resume one.

Both read as the same short sequence of steps: settings → data → strategy → run directory →
start state → fit → finish. Each step lives in its own module of this package.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from rnncli import checkpoints, distribute, runs
from rnncli.errors import RunError
from rnncli.progress import NullReporter, Reporter
from rnncli.settings import TrainSettings, model_spec
from rnncli.training.cluster import Placement, start_distribution
from rnncli.training.config import settings_from_config, write_config
from rnncli.training.data import Arrays, check_same_data, load_data
from rnncli.training.events import NullEvents, TrainingEvents, TrainResult, announce
from rnncli.training.finish import finish_run
from rnncli.training.fit import build_model, check_memory, fit, multi_worker_start
from rnncli.training.outcome import Phase, guarded
from rnncli.training.signals import signals_noted
from rnncli.training.state import StartState


def train(
    settings: TrainSettings,
    events: TrainingEvents | None = None,
    reporter: Reporter | None = None,
) -> TrainResult:
    """Train, keep the best epoch by `val_loss`, test it, and record everything in a run dir.

    Raises `TrainingInterrupted` on Ctrl-C or SIGTERM after marking the run interrupted; the
    best model so far stays in the run directory, and every finished epoch is checkpointed for
    `resume`. A run that fails is marked `failed`, never `complete`.
    """
    events = events or NullEvents()
    reporter = reporter or NullReporter()
    placement = Placement.of(settings)
    seed = placement.seed(settings)
    corpus, arrays = load_data(settings, seed, settings.seed is not None, events, reporter)
    spec = model_spec(settings, len(corpus.label_names))
    check_memory(spec)
    dist = start_distribution(settings.strategy, settings, placement, reporter)
    announce(events, "on_strategy", dist.info)
    run_dir, restarted = placement.run_dir(settings)
    try:
        with runs.RunLock(run_dir):
            if restarted:
                check_same_data(runs.read_json(run_dir / runs.CONFIG), settings, corpus, arrays, run_dir)
                runs.set_status(run_dir, runs.RUNNING)
            else:
                write_config(settings, spec, corpus, arrays, run_dir, seed, dist.info)
            start = (
                multi_worker_start(dist, run_dir, settings.patience, settings.monitor)
                if dist.multi_worker
                else StartState.fresh()
            )
            result = _train_and_finish(
                settings,
                spec,
                arrays,
                run_dir,
                seed,
                settings.seed is not None,
                start,
                dist,
                events,
                reporter,
            )
    finally:
        if not dist.info.chief:
            shutil.rmtree(run_dir, ignore_errors=True)
    placement.done(dist.info.chief)
    return result


def resume(
    run_dir: Path,
    data_dir: Path | None = None,
    events: TrainingEvents | None = None,
    reporter: Reporter | None = None,
) -> TrainResult:
    """Continue an interrupted or killed run from its last finished epoch.

    Everything comes from the run itself: the settings and seed from `config.json` (so the data
    split and batch order are the original's), the weights, optimizer state, early-stopping
    state and random-generator positions from the last checkpoint. With a given seed the result
    is the one the uninterrupted run would have reached. Raises `RunError` for a complete run,
    one still training in another process, one whose bookkeeping is damaged, or one whose data
    no longer matches. A run trained with a strategy resumes under the same strategy and number
    of replicas; a multi-worker run resumes by starting its workers again instead.
    """
    events = events or NullEvents()
    reporter = reporter or NullReporter()
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run directory {run_dir} does not exist")
    with runs.RunLock(run_dir):
        # Read under the lock: a resume that just finished in another process is seen complete.
        _check_resumable(run_dir)
        config = runs.read_json(run_dir / runs.CONFIG)
        settings, seed, deterministic = settings_from_config(config, run_dir)
        strategy = _recorded_strategy(config, run_dir)
        if data_dir is not None:
            settings = replace(settings, data_dir=Path(data_dir))
        elif settings.data_dir is not None and not Path(settings.data_dir).exists():
            settings = replace(settings, data_dir=None)
        checkpoint = checkpoints.Checkpoint.read(run_dir)
        corpus, arrays = load_data(settings, seed, True, events, reporter)
        check_same_data(config, settings, corpus, arrays, run_dir)
        spec = model_spec(settings, len(corpus.label_names))
        dist = start_distribution(strategy, settings, Placement(), reporter)
        _check_replicas(config, dist, run_dir)
        announce(events, "on_strategy", dist.info)
        start = StartState.from_checkpoint(checkpoint) if checkpoint else StartState.fresh()
        runs.set_status(run_dir, runs.RUNNING, resumed_after=start.epoch)
        return _train_and_finish(
            settings, spec, arrays, run_dir, seed, deterministic, start, dist, events, reporter
        )


def _train_and_finish(
    settings: TrainSettings,
    spec,
    arrays: Arrays,
    run_dir: Path,
    seed: int,
    deterministic: bool,
    start: StartState,
    dist: distribute.Distribution,
    events,
    reporter: Reporter,
) -> TrainResult:
    """Fit, then finish, under one guard: whatever stops the run leaves it marked as it is."""
    result = TrainResult(run_dir, chief=dist.info.chief)
    phase = Phase(monitor=settings.monitor)
    with signals_noted(), guarded(result, dist.info.chief, dist.multi_worker, phase):
        model = build_model(spec, arrays, dist, start, seed, deterministic, settings.precision)
        best_weights, inputs = fit(model, start, settings, spec, arrays, dist, seed, result, events, phase)
        phase.name = "finish"
        return finish_run(model, best_weights, inputs, dist, spec, settings, arrays, result, events, reporter)


def _check_resumable(run_dir: Path) -> None:
    """A damaged `status.json` refuses: restarting from epoch 1 would overwrite the model."""
    if runs.read_status(run_dir).get("state") == runs.COMPLETE:
        raise RunError(f"run {run_dir} is already complete", "train a new run instead of resuming it")


def _recorded_strategy(config: dict, run_dir: Path) -> str:
    strategy = (config.get("distribution") or {}).get("strategy", distribute.DEFAULT)
    if strategy == distribute.MULTI_WORKER:
        raise RunError(
            f"run {run_dir} was trained by a multi-worker cluster",
            "start every worker again with its original command and TF_CONFIG: "
            "they continue from the backup in the run directory",
        )
    return strategy


def _check_replicas(config: dict, dist: distribute.Distribution, run_dir: Path) -> None:
    """The global batch depends on the replicas, so a resume must have as many."""
    recorded = config.get("distribution") or {}
    if dist.info.replicas != int(recorded.get("replicas", 1)):
        raise RunError(
            f"run {run_dir} was trained on {recorded.get('replicas')} replicas ({dist.info.name}); "
            f"here that strategy gives {dist.info.replicas}",
            "resume it where it has as many devices, or train a new run",
        )
