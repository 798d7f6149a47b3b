"""Interrupting and resuming training, in-process on a small CSV corpus (seconds, not minutes).

`test_cli_faults.py` does the same through the real CLI with `kill -9`.
"""

from __future__ import annotations

import csv
import json
import random

import pytest

from rnncli import runs, settings
from rnncli.data.usersource import UserSource
from rnncli.errors import RunError, TrainingInterrupted
from rnncli.training import NullEvents, finish, resume, train

POSITIVE = ["good", "great", "fine", "lovely", "superb", "nice"]
NEGATIVE = ["bad", "awful", "poor", "dull", "boring", "weak"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """300 noisy two-class texts: a high learning rate overfits them within a few epochs."""
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("resume") / "reviews.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(300):
            label = i % 2
            words = [
                rng.choice(POSITIVE if (label if rng.random() < 0.7 else 1 - label) else NEGATIVE)
                for _ in range(rng.randint(2, 12))
            ]
            writer.writerow([" ".join(words), "pos" if label else "neg"])
    return path


@pytest.fixture(autouse=True)
def _no_export(monkeypatch, runs_dir):
    # The LiteRT export is tested elsewhere and costs seconds per run here.
    monkeypatch.setattr(finish, "export_for_inference", lambda *args: None)


def _settings(reviews, out, mask):
    return settings.resolve(
        str(reviews),
        source=UserSource(str(reviews)),
        arch="lstm",
        epochs=8,
        maxlen=12,
        num_words=30,
        embedding_dim=8,
        units=8,
        dropout=0.3,
        learning_rate=0.05,
        patience=2,
        # Seeds whose runs pass a non-improving epoch and then stop early before `epochs`, which
        # the resume test needs (a seed's course depends on its path's shuffle).
        seed=4 if mask else 3,
        mask=mask,
        out=out,
    )


class _CtrlCIn(NullEvents):
    """Presses Ctrl-C in the middle of `epoch` (after its second batch)."""

    def __init__(self, epoch: int) -> None:
        self.stop_in = epoch
        self.epoch = 0

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        if self.epoch == self.stop_in and step == 2:
            raise KeyboardInterrupt


def _without_time(history):
    return [{key: value for key, value in entry.items() if key != "seconds"} for entry in history]


@pytest.fixture(scope="module")
def uninterrupted(reviews, tmp_path_factory):
    """The reference runs, trained once per module: `mask` to its result."""
    cache = {}

    def get(mask: bool):
        if mask not in cache:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(finish, "export_for_inference", lambda *args: None)
                patch.setenv("RNNCLI_RUNS", str(tmp_path_factory.mktemp("runs")))
                cache[mask] = train(_settings(reviews, tmp_path_factory.mktemp("whole") / "run", mask))
        return cache[mask]

    return get


@pytest.mark.parametrize("mask", [False, True], ids=["padded-arrays", "length-batched"])
def test_resume_after_ctrl_c_mid_epoch_ends_exactly_where_the_uninterrupted_run_does(
    reviews, tmp_path, uninterrupted, mask
):
    whole = uninterrupted(mask)
    losses = [entry["val_loss"] for entry in whole.history]
    # Interrupt in the epoch after the first one that did not improve: the checkpoint then holds
    # patience partly used up (wait 1), which the resumed run must carry on from.
    worse = next(e for e in range(2, len(losses) + 1) if losses[e - 1] >= min(losses[: e - 1]))
    assert worse < len(losses), "the run must continue past a non-improving epoch"
    run = tmp_path / "cut"
    with pytest.raises(TrainingInterrupted, match="--resume"):
        train(_settings(reviews, run, mask), _CtrlCIn(worse + 1))
    assert runs.status(run)["state"] == runs.INTERRUPTED
    checkpoint = json.loads((run / runs.CHECKPOINT).read_text())
    assert checkpoint["epoch"] == worse and checkpoint["stopper"]["wait"] == 1

    resumed = resume(run)

    assert _without_time(resumed.history) == _without_time(whole.history)
    assert (resumed.best_epoch, resumed.stopped_epoch) == (whole.best_epoch, whole.stopped_epoch)
    assert resumed.test_loss == whole.test_loss and resumed.test_accuracy == whole.test_accuracy
    assert runs.status(run)["state"] == runs.COMPLETE
    assert not (run / runs.CHECKPOINT).exists() and not list(run.glob("checkpoint-*"))
    if not mask:
        assert whole.stopped_epoch < 8, "early stopping ended the run, after the resume"


def test_a_run_stopped_before_its_first_epoch_resumes_from_the_start_unless_refused(
    reviews, tmp_path, uninterrupted
):
    run = tmp_path / "run"
    with pytest.raises(TrainingInterrupted, match="before the first epoch"):
        train(_settings(reviews, run, False), _CtrlCIn(1))
    assert not (run / runs.CHECKPOINT).exists()
    with runs.RunLock(run), pytest.raises(RunError, match="in use by another rnncli process"):
        resume(run)
    config = json.loads((run / runs.CONFIG).read_text())
    changed = tmp_path / "changed.csv"
    changed.write_text(reviews.read_text().replace("good", "excellent"))
    config["training"]["source"]["path"] = str(changed)
    runs.write_json(run / runs.CONFIG, config)
    with pytest.raises(RunError, match="vocabulary; its data changed"):
        resume(run)
    config["training"]["source"]["path"] = str(reviews)
    runs.write_json(run / runs.CONFIG, config)
    assert _without_time(resume(run).history) == _without_time(uninterrupted(False).history)
    with pytest.raises(RunError, match="already complete"):
        resume(run)
