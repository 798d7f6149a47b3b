"""Use case: search `train`'s settings on the validation split, trial after trial, within limits.

Optuna does the searching: a TPE sampler that learns from finished trials (with a "constant
liar" so parallel processes do not all try the same point) and a median pruner fed each epoch's
validation loss, among trials of the same architecture. rnncli supplies the space, runs each
trial through `training.trial` (no test pass, no run directory) and keeps the study's files in
`runs/tune-NAME/`.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from rnncli import runs
from rnncli.errors import RnncliError, RunError, UsageError
from rnncli.progress import NullReporter, Reporter
from rnncli.settings import DATASET_DEFAULTS, USER_DATA, TrainSettings, resolve, validate
from rnncli.tuning import records as rec
from rnncli.tuning.events import NullTuneEvents, SearchResult, StudyInfo
from rnncli.tuning.limits import Limits
from rnncli.tuning.space import SearchSpace, build_space
from rnncli.tuning.storage import fail_orphans, open_storage, owner_attrs

#: Settings of `train` a search never changes: they say what data and how long, not which model.
PASSED_THROUGH = ("limit", "epochs", "patience", "val", "seed", "data_dir", "tokenizer", "source")
#: Trials in a row that may fail before the search gives up (a broken setup, not bad luck).
MAX_FAILURES_IN_A_ROW = 5
#: The pruner may stop a trial from this epoch on, once this many trials of its architecture
#: have completed (`pruning.SameArchitecture`).
PRUNER_WARMUP_EPOCHS = 2
PRUNER_STARTUP_TRIALS = 4
_IDENTITY = "rnncli"


@dataclass(frozen=True)
class TuneOptions:
    dataset: str
    #: `train`'s options that pass through (PASSED_THROUGH), None where not given.
    given: dict
    archs: tuple[str, ...]
    limits: Limits
    study: str | None = None
    storage: str | None = None
    #: Searched settings the user fixed (`--fix`).
    fixed: dict = field(default_factory=dict)


def study_folder(name: str) -> Path:
    return runs.runs_root() / f"tune-{name}"


def base_settings(options: TuneOptions) -> TrainSettings:
    """`train`'s settings for the data with nothing searched yet: validated before anything runs."""
    given = {key: value for key, value in options.given.items() if key in PASSED_THROUGH}
    return resolve(options.dataset, **given)


def search(options: TuneOptions, events=None, reporter: Reporter | None = None) -> SearchResult:
    """Run trials until the limits are reached; the study's files are kept up to date after each."""
    events = events or NullTuneEvents()
    reporter = reporter or NullReporter()
    _require_optuna()
    base = base_settings(options)
    validate(replace(base, **options.fixed))  # a fixed value train would refuse is refused now
    key = USER_DATA if base.source is not None else base.dataset
    space = build_space(
        key,
        DATASET_DEFAULTS[key].maxlen,
        options.archs,
        options.given.get("tokenizer"),
        _installed,
        options.fixed,
    )
    name = options.study or base.name
    folder = study_folder(name)
    storage = open_storage(options.storage, folder)
    study, seed = _open_study(storage, name, _identity(base, space), options.given.get("seed"))
    base = replace(base, seed=seed)
    orphans = tuple(fail_orphans(study))
    found = rec.records(study)
    described = options.storage or str(folder / "journal.log")
    info = StudyInfo(name, folder, described, space, options.limits, _finished(found), seed, orphans)
    events.on_study(info)
    result = SearchResult(name, folder, seed=seed)
    deadline = None if options.limits.seconds is None else time.monotonic() + options.limits.seconds
    corpora = _Corpora(base, reporter)
    found, reason = _interruptible(
        lambda: _trials_until(study, space, base, corpora, deadline, events, options.limits, result),
        study,
        base,
    )
    rec.write_all(folder, found, _fixed(base), f"rnncli tune {name}")
    result.found, result.best, result.reason = found, rec.best(found), reason
    result.running_elsewhere = sum(r.state == "running" for r in found)
    return result


def _require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise UsageError("rnncli tune needs Optuna", "pip install 'rnncli[tune]'") from None


def _installed(tokenizer: str) -> bool:
    from rnncli.tokenizers import require

    try:
        require(tokenizer)
    except UsageError:
        return False
    return True


def _identity(base: TrainSettings, space: SearchSpace) -> dict:
    """What makes two runs of `tune` the same study: the data, the split, the space, the ceilings.

    As JSON gives it back (lists, not tuples), so it compares equal to what the study stored.
    """
    return json.loads(
        json.dumps(
            {
                "dataset": base.dataset,
                "source": base.source.to_dict() if base.source else None,
                "limit": base.limit,
                "val": base.val,
                "epochs": base.epochs,
                "patience": base.patience,
                "space": space.record(),
            }
        )
    )


def _open_study(storage, name: str, identity: dict, seed: int | None):
    """Create the study, or load it and check it is this search; the study and its seed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize", load_if_exists=True)
    recorded = study.user_attrs.get(_IDENTITY)
    if recorded is None:
        chosen = seed if seed is not None else random.SystemRandom().randrange(2**31)
        study.set_user_attr(_IDENTITY, {**identity, "seed": chosen})
        sampler_seed = chosen
    else:
        _check_same_study(name, identity, recorded, seed)
        chosen = int(recorded["seed"])
        # A resumed or parallel process continues the study, so its sampler must not replay the
        # first process's random draws: it is seeded from the study's seed and its trial count.
        sampler_seed = chosen + len(study.get_trials(deepcopy=False)) * 7919
    from rnncli.tuning.pruning import SameArchitecture

    pruner = SameArchitecture(
        optuna.pruners.MedianPruner(
            n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_EPOCHS
        )
    )
    return optuna.load_study(
        study_name=name, storage=storage, sampler=_sampler(sampler_seed), pruner=pruner
    ), chosen


def _check_same_study(name: str, identity: dict, recorded: dict, seed: int | None) -> None:
    differs = sorted(
        key for key in (set(identity) | set(recorded)) - {"seed"} if recorded.get(key) != identity.get(key)
    )
    if differs:
        raise UsageError(
            f"study {name!r} was made with other data or another search space "
            f"(differs in: {', '.join(differs)})",
            "give the same data and options, or another --study",
        )
    if seed is not None and seed != recorded.get("seed"):
        raise UsageError(
            f"study {name!r} splits its data with seed {recorded.get('seed')}, not {seed}",
            "drop --seed, or start another --study",
        )


def _sampler(seed: int | None):
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True)


def _finished(found: list[rec.TrialRecord]) -> int:
    return sum(r.finished for r in found)


def _limit_reached(limits: Limits, found: list[rec.TrialRecord], deadline: float | None) -> str:
    if limits.trials is not None and _finished(found) >= limits.trials:
        return "trials"
    if deadline is not None and time.monotonic() >= deadline:
        return "budget"
    return ""


def _state(found: list[rec.TrialRecord], number: int) -> str:
    return next(r.state for r in found if r.number == number)


def _note(found: list[rec.TrialRecord], number: int) -> str:
    return next(r.note for r in found if r.number == number) or "no reason recorded"


def _fixed(base: TrainSettings) -> dict:
    """What the best preset carries besides the searched settings: the trials' ceilings and split."""
    return {"epochs": base.epochs, "patience": base.patience, "val": base.val}


class _Corpora:
    """Each tokenizer's encoded corpus, read once per process: trials differ in settings, not data."""

    def __init__(self, base: TrainSettings, reporter: Reporter) -> None:
        self.base = base
        self.reporter = reporter
        self.loaded: dict[str, object] = {}

    def get(self, tokenizer: str):
        if tokenizer not in self.loaded:
            from rnncli.data.sources import load_corpus

            base = self.base
            corpus = load_corpus(
                base.dataset, base.source, base.seed, base.data_dir, self.reporter, tokenizer
            )
            self.loaded[tokenizer] = corpus.limited(base.limit)
        return self.loaded[tokenizer]


def _trials_until(study, space, base, corpora, deadline, events, limits: Limits, result: SearchResult):
    """Trials until a limit is reached; the study's records and why it stopped."""
    from rnncli.training.signals import interrupt_pending

    folder, name = result.folder, result.name
    found, failures = rec.records(study), 0
    while not (reason := _limit_reached(limits, found, deadline)):
        interrupt_pending()  # a signal noted between trials ends the search here
        record = _run_trial(study, space, base, corpora, deadline, events)
        found = rec.records(study)
        rec.write_all(folder, found, _fixed(base), f"rnncli tune {name}")
        events.on_trial_end(next(r for r in found if r.number == record), found)
        result.ran += 1
        failures = failures + 1 if _state(found, record) == "failed" else 0
        if failures >= MAX_FAILURES_IN_A_ROW:
            raise RunError(
                f"{failures} trials in a row failed; the last: {_note(found, record)}",
                f"see {folder / rec.TRIALS_TABLE}",
            )
    return found, reason


def _interruptible(search_loop, study, base: TrainSettings):
    """Run the loop with Ctrl-C and SIGTERM deferred: either ends the search, the study resumable.

    The handlers cover the whole loop, between trials too, and only note the signal; it is
    raised at the trial's next batch or before the next trial, so the files are up to date, the
    trial in progress is recorded failed, and no write of the study is cut in half.
    """
    from rnncli.errors import TrainingInterrupted, TrainingTerminated
    from rnncli.training.signals import Terminated, signals_deferred

    folder = study_folder(study.study_name)
    try:
        with signals_deferred():
            return search_loop()
    except KeyboardInterrupt as exc:
        rec.write_all(folder, rec.records(study), _fixed(base), f"rnncli tune {study.study_name}")
        kind = TrainingTerminated if isinstance(exc, Terminated) else TrainingInterrupted
        raise kind(
            f"{'terminated' if kind is TrainingTerminated else 'interrupted'}: any trial in progress is "
            f"recorded failed; finished trials are kept in {folder}",
            "the same command continues the study",
        ) from None


def _run_trial(study, space: SearchSpace, base: TrainSettings, corpora: _Corpora, deadline, events) -> int:
    """Ask for a trial, train it, tell the study how it ended; its number."""
    from optuna.trial import TrialState

    from rnncli.training.trial import TrialFailed, fit_trial

    trial = study.ask()
    for key, value in owner_attrs().items():
        trial.set_user_attr(key, value)
    chosen = space.suggest(trial)
    trial.set_user_attr("settings", chosen)
    events.on_trial_begin(trial.number, chosen)

    def prune(epoch: int, logs: dict[str, float]) -> str | None:
        trial.report(logs["val_loss"], epoch)
        return "pruned" if trial.should_prune() else None

    try:
        settings = replace(base, **chosen)
        validate(settings)
        outcome = fit_trial(
            settings, corpora.get(settings.tokenizer), base.seed, events.trial, prune, deadline
        )
    except KeyboardInterrupt:
        trial.set_user_attr("error", "interrupted")
        study.tell(trial, state=TrialState.FAIL)
        raise
    except (TrialFailed, RnncliError) as exc:
        trial.set_user_attr("error", str(exc))
        study.tell(trial, state=TrialState.FAIL)
        return trial.number
    except Exception as exc:  # noqa: BLE001 - any library error fails this trial, not the search
        trial.set_user_attr("error", f"{type(exc).__name__}: {_first_line(exc)}")
        study.tell(trial, state=TrialState.FAIL)
        return trial.number
    for key in ("val_loss", "val_accuracy", "best_epoch", "epochs", "seconds"):
        trial.set_user_attr(key, getattr(outcome, key))
    if outcome.stopped is not None:
        trial.set_user_attr("stopped", outcome.stopped)
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, outcome.val_loss)
    return trial.number


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "no message"
