"""The training display and the loss chart, rendered for real and read back as text."""

from __future__ import annotations

import io

from rich.console import Console

from rnncli import console
from rnncli.plots import loss_chart
from rnncli.training.events import DataInfo


def _info(**seed) -> DataInfo:
    return DataInfo("tiny", ("a", "b"), 8, 2, 4, False, [1, 2, 3], **seed)


def _rows(display: console.TrainDisplay) -> list[str]:
    """The live bars as a terminal would show them, one line per task."""
    sink = Console(file=io.StringIO(), width=160, color_system=None)
    sink.print(display.progress.make_tasks_table(display.progress.tasks))
    return sink.file.getvalue().splitlines()


def test_epoch_bar_shows_time_per_epoch_never_an_eta_from_the_most_epochs(tmp_path):
    display = console.TrainDisplay(bars=True)
    display.on_train_begin(200, 5, tmp_path)
    try:
        display.on_epoch_begin(1)
        for step in range(1, 6):
            display.on_batch_end(step, {"loss": 0.5})
        display.on_epoch_end(1, {"loss": 0.5, "seconds": 0.01}, improved=True)
        display.on_epoch_begin(2)
        display.on_batch_end(1, {"loss": 0.4})
        epoch_row, batch_row = _rows(display)
    finally:
        display.close()
    assert epoch_row.startswith("epoch 2/200") and "1/200" in epoch_row
    assert "s/epoch" in epoch_row and "ETA" not in epoch_row, epoch_row
    # The batch bar's total is what will run, so its ETA is honest and stays.
    assert batch_row.startswith("batch") and "ETA" in batch_row, batch_row


def test_a_drawn_seed_is_printed_with_the_option_that_repeats_the_run(capsys):
    display = console.TrainDisplay(bars=False)
    display.on_data(_info(seed=123456, seed_given=False))
    assert "Seed: 123456 (drawn; --seed 123456 repeats this run)" in capsys.readouterr().out
    display.on_data(_info(seed=7, seed_given=True))
    assert "Seed" not in capsys.readouterr().out


def test_loss_chart_keeps_legend_and_labels_off_the_data():
    history = [{"epoch": i, "loss": 1.5 / i + 0.1, "val_loss": 1.4 / i + 0.3} for i in range(1, 9)]
    lines = loss_chart(history, color=False).splitlines()
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    # Legend in the title line, with the markers the series are drawn with.
    title = lines[top - 1]
    assert "Loss per epoch" in title and "•• loss" in title and "xx val_loss" in title
    # Inside the frame only data: no legend text over the first epochs' points.
    assert not any("loss" in line for line in lines[top : bottom + 1])
    # Below the frame: the epoch ticks and the x label, nothing at the bottom left.
    assert lines[-1].strip() == "epoch" and not lines[-1].startswith("loss")
    training_only = loss_chart([{"epoch": 1, "loss": 0.5}], color=False)
    assert "•• loss" in training_only and "val_loss" not in training_only
