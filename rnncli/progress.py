"""How long-running library code reports progress without printing.

Library functions take a `Reporter`; the CLI passes one that draws rich progress bars, tests
and scripts pass nothing and get the silent default.
"""

from __future__ import annotations

from typing import Protocol


class Task(Protocol):
    def advance(self, amount: float = 1) -> None: ...

    def update(self, *, total: float | None = None, description: str | None = None) -> None: ...

    def close(self) -> None: ...


class Reporter(Protocol):
    def task(self, description: str, total: float | None = None, unit: str = "") -> Task: ...

    def warn(self, message: str) -> None: ...

    def info(self, message: str) -> None: ...


class _NullTask:
    def advance(self, amount: float = 1) -> None:
        pass

    def update(self, *, total: float | None = None, description: str | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class NullReporter:
    """Reports nothing; the default for library calls."""

    def task(self, description: str, total: float | None = None, unit: str = "") -> Task:
        return _NullTask()

    def warn(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass


class RecordingReporter(NullReporter):
    """Keeps warnings and messages; handy where a caller wants them afterwards."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.messages: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def info(self, message: str) -> None:
        self.messages.append(message)
