"""What a search tells whoever renders it, and what it hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rnncli.training.events import NullEvents
from rnncli.tuning.limits import Limits
from rnncli.tuning.records import TrialRecord
from rnncli.tuning.space import SearchSpace


@dataclass(frozen=True)
class StudyInfo:
    name: str
    folder: Path
    storage: str
    space: SearchSpace
    limits: Limits
    #: Trials the study had finished (complete or pruned) before this process started.
    finished_before: int
    seed: int
    #: Trials of this host left RUNNING by a killed process, now marked failed.
    orphans: tuple[int, ...] = ()


@dataclass
class SearchResult:
    name: str
    folder: Path
    found: list[TrialRecord] = field(default_factory=list)
    best: TrialRecord | None = None
    #: Trials this process ran, and why it stopped ("trials", "budget").
    ran: int = 0
    reason: str = ""
    #: Trials other processes are still running: the last to finish trains the best.
    running_elsewhere: int = 0
    seed: int = 0


class TuneEvents(Protocol):
    """How a search reports; `trial` receives the training events of the trial in progress."""

    trial: object

    def on_study(self, info: StudyInfo) -> None: ...

    def on_trial_begin(self, number: int, chosen: dict) -> None: ...

    def on_trial_end(self, record: TrialRecord, found: list[TrialRecord]) -> None: ...


class NullTuneEvents:
    def __init__(self) -> None:
        self.trial = NullEvents()

    def on_study(self, info: StudyInfo) -> None:
        pass

    def on_trial_begin(self, number: int, chosen: dict) -> None:
        pass

    def on_trial_end(self, record: TrialRecord, found: list[TrialRecord]) -> None:
        pass
