"""Every error rnncli raises on purpose.

Library code raises these instead of printing; the CLI turns each into one line on stderr and
its exit code, so a shell script can tell a usage mistake (2) from a runtime failure (1).
"""

from __future__ import annotations


class RnncliError(Exception):
    """Base class: a failure we expected and can explain in one line."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(RnncliError):
    """The command line asks for something impossible: a bad name or number."""

    exit_code = 2


class DataError(RnncliError):
    """A corpus, archive or input file is missing, corrupt or malformed."""


class DownloadError(DataError):
    """A corpus could not be fetched from its public home."""


class UnsafeArchiveError(DataError):
    """An archive tried to write outside its target folder or carries links or devices."""


class RunError(RnncliError):
    """A run directory is missing, incomplete, damaged or inconsistent."""


class InputError(RnncliError):
    """Text given to predict cannot be read (for example bytes that are not UTF-8)."""


class TrainingInterrupted(RnncliError):
    """Training stopped on Ctrl-C; the best model so far was kept."""

    exit_code = 130


class TrainingTerminated(TrainingInterrupted):
    """Training stopped on SIGTERM; kept and marked as for Ctrl-C, with the shell's 128 + 15."""

    exit_code = 143
