"""The parts of `rnncli tune` that need no training: limits, the space, records, orphaned trials,
and a trial that never touches the test split."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import optuna
import pytest

from rnncli.errors import UsageError
from rnncli.models.registry import ARCHITECTURES, NGRAM_ARCHS
from rnncli.settings import resolve, validate
from rnncli.tuning import records
from rnncli.tuning.limits import DEFAULT_BUDGET_SECONDS, Limits, parse_budget
from rnncli.tuning.space import build_space
from rnncli.tuning.storage import fail_orphans, open_storage, owner_attrs

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize(
    "text, seconds", [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1.5m", 90)]
)
def test_budgets_read_as_durations(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["30", "", "m", "30 minutes", "-5m", "5m-"])
def test_a_budget_without_a_unit_or_malformed_is_a_usage_error(text):
    with pytest.raises(UsageError, match="--budget must be a duration"):
        parse_budget(text)


def test_limits_refuse_what_cannot_hold_one_trial_and_default_to_a_budget():
    with pytest.raises(UsageError, match="cannot hold one trial"):
        Limits.of("10s", None)
    with pytest.raises(UsageError, match="--trials must be at least 1"):
        Limits.of(None, 0)
    assert Limits.of(None, None) == Limits(float(DEFAULT_BUDGET_SECONDS), None)
    assert Limits.of("2m", 5).describe() == "5 trials or 2m00s"


def _always(_name: str) -> bool:
    return True


def test_the_space_refuses_unknown_and_empty_architecture_lists():
    with pytest.raises(UsageError, match="unknown architecture 'nope'"):
        build_space("reuters", 100, ("lstm", "nope"), None, _always)
    with pytest.raises(UsageError, match="search space is empty"):
        build_space("reuters", 100, (), None, _always)


def test_the_space_offers_only_installed_tokenizers_and_korean_ones_for_nsmc():
    english = build_space("imdb", 500, ("lstm", "nbsvm"), None, lambda name: name == "words")
    assert english.tokenizers == {"rnn": ("words",), "nbsvm": ("words",)}
    korean = build_space("nsmc", 60, ("lstm", "nbsvm"), None, _always)
    assert korean.tokenizers["nbsvm"] == ("subword", "morphemes", "chars+subword")
    assert "chars+subword" not in korean.tokenizers["rnn"]
    with pytest.raises(UsageError, match="no tokenizer"):
        build_space("nsmc", 60, ("lstm",), None, lambda name: False)
    assert build_space("imdb", 500, ("gru",), "subword", _always).tokenizers == {"rnn": ("subword",)}
    assert english.maxlens == (250, 500, 1000, 2000)


def test_every_suggested_trial_passes_trains_own_checks_for_every_architecture():
    space = build_space("imdb", 500, tuple(ARCHITECTURES), None, _always)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    base = resolve("imdb", limit=100)
    seen = set()
    for _ in range(60):
        trial = study.ask()
        chosen = space.suggest(trial)
        seen.add(chosen["arch"])
        from dataclasses import replace

        validate(replace(base, **chosen))
        if chosen["arch"] in NGRAM_ARCHS:
            assert chosen["mask"] is True and "units" not in chosen
        else:
            assert {"units", "embedding_dim", "dropout"} <= set(chosen)
        study.tell(trial, 1.0)
    assert seen == set(ARCHITECTURES)


def _record(number, state, loss, **settings):
    return records.TrialRecord(number, state, loss, 0.5, 1, 2, 3.0, settings)


def test_the_best_is_the_lowest_complete_trial_and_the_chart_follows_it():
    found = [
        _record(0, "complete", 0.9, arch="lstm"),
        _record(1, "pruned", 0.1, arch="gru"),
        _record(2, "failed", None),
        _record(3, "complete", 0.5, arch="nbsvm", learning_rate=0.00123),
    ]
    assert records.best(found).number == 3
    assert records.best_so_far(found) == [(0, 0.9), (1, 0.9), (2, 0.9), (3, 0.5)]
    assert "Best validation loss" in records.chart(found, color=False)
    assert records.best([found[1], found[2]]) is None
    table = records.table(found).splitlines()
    assert table[0].split()[:3] == ["trial", "state", "val_loss"]
    assert table[4].split()[:3] == ["3", "complete", "0.5000"] and "lr 0.0012" in table[4]


def test_records_files_round_trip_the_best_settings_as_a_preset_file(tmp_path):
    from rnncli import presetfiles

    found = [_record(0, "complete", 0.4, arch="fasttext", num_words=300, maxlen=40)]
    records.write_all(tmp_path, found, {"epochs": 3, "patience": 1, "val": "0.2"}, "a study")
    lines = [json.loads(line) for line in (tmp_path / records.TRIALS_JSONL).read_text().splitlines()]
    assert lines[0]["trial"] == 0 and lines[0]["pruned"] is False
    description, chosen = presetfiles.load(tmp_path / records.BEST_PRESET)
    assert chosen == {
        "epochs": 3,
        "patience": 1,
        "val": "0.2",
        "arch": "fasttext",
        "num_words": 300,
        "maxlen": 40,
    }
    assert resolve("imdb", preset_file=tmp_path / records.BEST_PRESET).maxlen == 40


def test_a_trial_whose_process_died_is_marked_failed_and_a_live_ones_is_not(tmp_path):
    storage = open_storage(None, tmp_path)
    study = optuna.create_study(study_name="s", storage=storage)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan, alive = study.ask(), study.ask()
    for key, value in owner_attrs().items():
        orphan.set_user_attr(key, value)
        alive.set_user_attr(key, value)
    orphan.set_user_attr("pid", int(dead.stdout))
    assert fail_orphans(study) == [orphan.number]
    states = {t.number: t.state.name for t in study.get_trials()}
    assert states == {orphan.number: "FAIL", alive.number: "RUNNING"}
    assert records.records(study)[0].note == "its process ended mid-trial (killed)"


def test_a_storage_that_cannot_be_opened_is_one_clear_error(tmp_path):
    from rnncli.errors import RnncliError

    with pytest.raises(UsageError, match="is a folder"):
        open_storage(str(tmp_path), tmp_path)
    with pytest.raises(RnncliError, match="cannot open --storage"):
        open_storage("sqlite:////proc/no/such/folder/tune.db", tmp_path)


def test_a_trial_never_reads_the_test_split(tiny_csv, monkeypatch):
    """The arrays a trial trains on raise if the test split is touched: it never is."""
    from rnncli.data.sources import load_corpus
    from rnncli.training import trial as trial_module
    from rnncli.training.events import NullEvents

    real = trial_module.prepare_arrays

    class Sealed:
        def __init__(self, arrays):
            self.__dict__["inner"] = arrays

        def __getattr__(self, name):
            if name in ("x_test", "y_test"):
                raise AssertionError("a trial looked at the test split")
            return getattr(self.__dict__["inner"], name)

    monkeypatch.setattr(trial_module, "prepare_arrays", lambda *args: Sealed(real(*args)))
    settings = resolve(str(tiny_csv), arch="fasttext", epochs=2, num_words=50, maxlen=8, seed=1)
    corpus = load_corpus(settings.dataset, settings.source, 1)
    seen = []
    outcome = trial_module.fit_trial(
        settings, corpus, 1, NullEvents(), lambda epoch, logs: seen.append(epoch), deadline=None
    )
    assert seen == [1, 2] and outcome.epochs == 2 and np.isfinite(outcome.val_loss)
    assert outcome.stopped is None


def test_pruning_compares_a_trial_only_with_its_own_architecture():
    """A slow starter is not pruned for trailing a fast architecture at the same epoch."""
    from rnncli.tuning.pruning import SameArchitecture

    study = optuna.create_study(
        pruner=SameArchitecture(optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    )

    def trial_of(arch):
        study.enqueue_trial({"arch": arch})
        trial = study.ask()
        trial.suggest_categorical("arch", ["nbsvm", "fasttext"])
        return trial

    for arch, loss in (("nbsvm", 0.3), ("nbsvm", 0.4), ("fasttext", 2.0), ("fasttext", 1.0)):
        done = trial_of(arch)
        done.report(loss, 1)
        study.tell(done, loss)
    slow = trial_of("fasttext")
    slow.report(1.2, 1)
    assert not slow.should_prune()  # below the median of the fasttext trials (1.5)
    everyone = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    assert everyone.prune(study, study.get_trials()[-1])  # above the median of all four (0.7)
    bad = trial_of("fasttext")
    bad.report(2.5, 1)
    assert bad.should_prune()


def test_the_memory_check_counts_nbsvm_ratios_per_class():
    """A 46-class NBSVM table has 46 columns: the check counted one, 46 times too few bytes."""
    from rnncli.models.registry import ModelSpec
    from rnncli.training.fit import training_bytes

    def spec(classes):
        return ModelSpec("nbsvm", 20000, 400, classes, 1, 0, 0.0, buckets=5_000_000, ngrams=3)

    assert training_bytes(spec(46)) == 46 * training_bytes(spec(2))
    # Weight, gradient, 2 moments, the ratio, the counts and Keras' copies (rnncli/training/fit.py).
    assert training_bytes(spec(46)) == (20000 + 5_000_000) * 46 * 48
