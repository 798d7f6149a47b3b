"""A study's trials as files a person or a script reads: JSON Lines, a table, a chart, a preset.

Every file is rebuilt from the study's storage after each trial, so processes sharing a study
write the same files and the last writer is complete.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from rnncli.atomic import atomic_write_text

TRIALS_JSONL = "trials.jsonl"
TRIALS_TABLE = "trials.txt"
CHART = "chart.txt"
BEST_PRESET = "best.json"

_STATES = {
    "COMPLETE": "complete",
    "PRUNED": "pruned",
    "FAIL": "failed",
    "RUNNING": "running",
    "WAITING": "waiting",
}


@dataclass(frozen=True)
class TrialRecord:
    number: int
    state: str
    val_loss: float | None
    val_accuracy: float | None
    best_epoch: int | None
    epochs: int | None
    seconds: float | None
    settings: dict
    note: str = ""
    #: `host:pid` of the process that ran it (processes may share a study).
    worker: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("complete", "pruned")

    def to_dict(self) -> dict:
        return {
            "trial": self.number,
            "state": self.state,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
            "best_epoch": self.best_epoch,
            "epochs": self.epochs,
            "seconds": self.seconds,
            "pruned": self.state == "pruned",
            "note": self.note,
            "worker": self.worker,
            "settings": self.settings,
        }


def records(study) -> list[TrialRecord]:
    """Every trial of the study, in order; a pruned trial's loss is its last reported one."""
    result = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        state = _STATES.get(trial.state.name, trial.state.name.lower())
        loss = trial.value if trial.value is not None else attrs.get("val_loss")
        result.append(
            TrialRecord(
                number=trial.number,
                state=state,
                val_loss=_number(loss),
                val_accuracy=_number(attrs.get("val_accuracy")),
                best_epoch=attrs.get("best_epoch"),
                epochs=attrs.get("epochs"),
                seconds=_number(attrs.get("seconds")),
                settings=dict(attrs.get("settings") or {}),
                note=str(attrs.get("stopped") or attrs.get("error") or ""),
                worker=f"{attrs.get('host', '?')}:{attrs.get('pid', '?')}",
            )
        )
    return result


def best(found: list[TrialRecord]) -> TrialRecord | None:
    """The complete trial of lowest validation loss (a pruned one never finished, so never best)."""
    complete = [r for r in found if r.state == "complete" and r.val_loss is not None]
    return min(complete, key=lambda r: (r.val_loss, r.number)) if complete else None


def write_all(folder: Path, found: list[TrialRecord], fixed: dict, description: str) -> None:
    """trials.jsonl, trials.txt, chart.txt and (once a trial completed) best.json."""
    lines = "".join(json.dumps(r.to_dict(), ensure_ascii=False, allow_nan=False) + "\n" for r in found)
    atomic_write_text(folder / TRIALS_JSONL, lines)
    atomic_write_text(folder / TRIALS_TABLE, table(found))
    atomic_write_text(folder / CHART, chart(found, color=False) + "\n")
    winner = best(found)
    if winner is not None:
        from rnncli import presetfiles

        presetfiles.save(
            folder / BEST_PRESET, f"{description}: trial {winner.number}", {**fixed, **winner.settings}
        )


#: (header, width, how a record shows it) of the table's columns.
_COLUMNS = (
    ("trial", 5, lambda r: str(r.number)),
    ("state", 8, lambda r: r.state),
    ("val_loss", 8, lambda r: _fixed(r.val_loss)),
    ("val_acc", 7, lambda r: _fixed(r.val_accuracy)),
    ("epochs", 6, lambda r: "-" if r.epochs is None else f"{r.best_epoch or '-'}/{r.epochs}"),
    ("seconds", 7, lambda r: "-" if r.seconds is None else f"{r.seconds:.0f}"),
)


def table(found: list[TrialRecord]) -> str:
    """A fixed-width text table, one trial a line, settings last (they vary in length)."""
    header = "  ".join(name.rjust(width) for name, width, _ in _COLUMNS) + "  settings"
    rows = [
        "  ".join(show(r).rjust(width) for _, width, show in _COLUMNS) + "  " + describe(r.settings)
        for r in found
    ]
    return "\n".join([header, *rows]) + "\n"


def describe(chosen: dict) -> str:
    """`nbsvm words lr 0.0012 batch 64 num_words 20000 ...`: a trial's settings on one line."""
    if not chosen:
        return "-"
    head = f"{chosen.get('arch', '?')} {chosen.get('tokenizer', '')}".strip()
    rest = []
    for key, value in chosen.items():
        if key in ("arch", "tokenizer", "mask"):
            continue
        shown = (
            f"{value:.2g}" if key == "learning_rate" else f"{value:g}" if isinstance(value, float) else value
        )
        rest.append(f"{_SHORT.get(key, key)} {shown}")
    return " ".join([head, *rest])


_SHORT = {"learning_rate": "lr", "batch_size": "batch", "embedding_dim": "emb", "num_words": "words"}


def best_so_far(found: list[TrialRecord]) -> list[tuple[int, float]]:
    """(trial number, lowest validation loss of the complete trials up to it)."""
    points, lowest = [], math.inf
    for r in sorted(found, key=lambda r: r.number):
        if r.state == "complete" and r.val_loss is not None and r.val_loss < lowest:
            lowest = r.val_loss
        if math.isfinite(lowest):
            points.append((r.number, lowest))
    return points


def chart(found: list[TrialRecord], width: int = 70, height: int = 16, color: bool = True) -> str:
    """The best validation loss over the trials (plotext), or a line saying there is none yet."""
    points = best_so_far(found)
    if not points:
        return "No trial has completed yet: nothing to chart."
    import plotext as plt

    from rnncli.plots import strip_colour

    plt.clf()
    plt.theme("clear")
    plt.plotsize(width, height)
    plt.title("Best validation loss over trials")
    numbers = [n for n, _ in points]
    plt.plot(numbers, [v for _, v in points], marker="dot", color="blue")
    plt.xlabel("trial")
    step = max(1, -(-(numbers[-1] - numbers[0]) // 8))  # at most about 9 whole-number ticks
    plt.xticks(list(range(numbers[0], numbers[-1] + 1, step)))
    text = plt.build()
    plt.clf()
    return text if color else strip_colour(text)


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _fixed(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
