"""What training tells whoever renders it, and what it hands back at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rnncli.distribute import StrategyInfo


@dataclass(frozen=True)
class DataInfo:
    """What the book prints before training, plus where validation comes from and the seed."""

    dataset: str
    label_names: tuple[str, ...]
    train_count: int
    val_count: int
    test_count: int
    validate_on_test: bool
    example: list[int]
    #: The seed the run uses; `seed_given` is False when it was drawn, so a display can say how
    #: to repeat the run.
    seed: int = 0
    seed_given: bool = True
    #: False with `--val none`: nothing is held out, training loss picks the best epoch.
    validates: bool = True


@dataclass
class TrainResult:
    run_dir: Path
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped_epoch: int = 0
    test_loss: float = float("nan")
    test_accuracy: float = float("nan")
    seconds: float = 0.0
    #: False on a multi-worker task other than the chief: its `run_dir` was scratch, now gone.
    chief: bool = True


class TrainingEvents(Protocol):
    """How training reports to whoever renders it; every method is optional to act on."""

    def on_data(self, info: DataInfo) -> None: ...

    def on_train_begin(self, epochs: int, steps_per_epoch: int, run_dir: Path) -> None: ...

    def on_epoch_begin(self, epoch: int) -> None: ...

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, float], improved: bool) -> None: ...

    def on_evaluate_begin(self) -> None: ...

    # Optional (looked up with getattr): a resumed run starts after `epoch` finished epochs.
    # def on_resume(self, epoch: int, best_epoch: int, best_loss: float | None,
    #               monitor: str) -> None: ...

    # Optional (looked up with getattr): the strategy, replicas, devices and batch, once known.
    # def on_strategy(self, info: StrategyInfo) -> None: ...


class NullEvents:
    def on_data(self, info: DataInfo) -> None:
        pass

    def on_train_begin(self, epochs: int, steps_per_epoch: int, run_dir: Path) -> None:
        pass

    def on_epoch_begin(self, epoch: int) -> None:
        pass

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float], improved: bool) -> None:
        pass

    def on_evaluate_begin(self) -> None:
        pass

    def on_strategy(self, info: StrategyInfo) -> None:
        pass


def announce(events, name: str, *args: object) -> None:
    """Call an optional event (`on_resume`, `on_strategy`) if the receiver has it."""
    method = getattr(events, name, None)
    if method is not None:
        method(*args)
