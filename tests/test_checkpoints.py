"""Checkpoints, best-model copies and the multi-worker restart state."""

from __future__ import annotations

import json
import random

import pytest

from rnncli import runs
from rnncli.checkpoints import (
    BACKUP,
    Checkpoint,
    best_file,
    read_restart,
    remove_best_files,
    replay,
)
from rnncli.errors import RunError


def _checkpoint(**changes) -> Checkpoint:
    values = dict(
        epoch=2,
        model_file="checkpoint-2.keras",
        history=[{"val_loss": 0.5}, {"val_loss": 0.4}],
        best_epoch=2,
        best_loss=0.4,
        stopper={"wait": 0, "best": 0.4, "best_epoch": 1, "stopped_epoch": 0},
        stop_training=False,
        seed_states=[[1, 2]],
        seconds=3.5,
    )
    return Checkpoint(**{**values, **changes})


def test_a_checkpoint_reads_back_as_written(tmp_path):
    (tmp_path / "checkpoint-2.keras").write_bytes(b"model")
    _checkpoint().write(tmp_path)
    assert Checkpoint.read(tmp_path) == _checkpoint()


def test_no_checkpoint_means_start_over_and_a_bad_one_is_refused(tmp_path):
    assert Checkpoint.read(tmp_path) is None
    _checkpoint().write(tmp_path)
    with pytest.raises(RunError, match="names checkpoint-2.keras, which is missing"):
        Checkpoint.read(tmp_path)
    (tmp_path / "checkpoint-2.keras").write_bytes(b"model")
    runs.write_json(tmp_path / runs.CHECKPOINT, {"format": 1, "epoch": 2})
    with pytest.raises(RunError, match="malformed"):
        Checkpoint.read(tmp_path)


def test_old_best_copies_go_but_the_ones_kept_stay(tmp_path):
    for epoch in (1, 2, 3):
        (tmp_path / best_file(epoch)).write_bytes(b"m")
    remove_best_files(tmp_path, keep={2, 3})
    assert sorted(p.name for p in tmp_path.glob("best-*.keras")) == ["best-2.keras", "best-3.keras"]


def test_restart_reads_the_backup_epoch_and_drops_later_history(tmp_path):
    assert read_restart(tmp_path, patience=2).epoch == 0
    (tmp_path / BACKUP).mkdir()
    (tmp_path / BACKUP / "training_metadata.json").write_text(json.dumps({"epoch": 2}))
    losses = [0.5, 0.4, 0.45]
    runs.write_json(tmp_path / runs.HISTORY, {"epochs": [{"val_loss": v} for v in losses]})
    restart = read_restart(tmp_path, patience=2)
    assert (restart.epoch, restart.best_epoch, restart.best_loss, len(restart.history)) == (2, 2, 0.4, 2)
    (tmp_path / BACKUP / "training_metadata.json").write_text(json.dumps({"epoch": 5}))
    with pytest.raises(RunError, match="at epoch 5 but its history has 3 epochs"):
        read_restart(tmp_path, patience=2)


def test_restart_state_replays_keras_early_stopping_exactly():
    from rnncli.backend import keras

    rng = random.Random(1)
    for trial in range(40):
        patience = rng.randint(0, 3)
        losses = [rng.choice([1.0, 0.9, 0.8, 1.1, float("nan")]) for _ in range(rng.randint(1, 8))]
        stopper = keras().callbacks.EarlyStopping(monitor="val_loss", patience=patience)
        model = type("Stub", (), {"stop_training": False})()
        stopper.set_model(model)
        stopper.on_train_begin()
        for epoch, loss in enumerate(losses):
            stopper.on_epoch_end(epoch, {"val_loss": loss})
            replayed = replay([{"val_loss": value} for value in losses[: epoch + 1]], patience)
            state = replayed.stopper
            assert (state["wait"], state["best_epoch"], state["stopped_epoch"], replayed.stop_training) == (
                stopper.wait,
                stopper.best_epoch,
                stopper.stopped_epoch,
                model.stop_training,
            ), (trial, losses, patience)
            assert repr(state["best"]) == repr(stopper.best), (trial, losses, patience)
            if model.stop_training:
                break


def test_without_validation_the_replay_follows_training_loss():
    history = [{"loss": 1.0}, {"loss": 0.7}, {"loss": 0.8}, {"loss": 0.9}]
    restart = replay(history, patience=2, monitor="loss")
    assert (restart.best_epoch, restart.best_loss, restart.stop_training) == (2, 0.7, True)
    assert replay(history, patience=2).best_epoch == 0  # no val_loss in it: nothing is best
