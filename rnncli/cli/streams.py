"""The standard streams when they are not what a program expects: closed at start, or closed later.

`rnncli predict x <&-` or `>&-` start with `sys.stdin`/`sys.stdout` set to None; a reader such as
`head` or `grep -m1` can go away while rnncli still writes. Light on imports (`--help` loads it).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from rnncli.errors import InputError, RnncliError

#: The standard streams that were closed when rnncli started (`<&-`, `>&-`, `2>&-`).
closed_at_start: set[str] = set()


def open_closed_streams() -> None:
    """Point each stream the shell closed at /dev/null, and remember which.

    So nothing in rnncli or its libraries trips over None (`'NoneType' object has no attribute
    'write'`); a command that needs the stream says so in one line (`require_stdout`, `require_stdin`).
    """
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            closed_at_start.add(name)
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))


def require_stdout() -> None:
    """Refuse before any work to compute results that could go nowhere (`rnncli predict x >&-`)."""
    if "stdout" in closed_at_start:
        raise RnncliError("standard output is closed: there is nowhere to write the results")


def require_stdin() -> None:
    """Refuse to read texts from a standard input the shell closed (`rnncli predict - <&-`)."""
    if "stdin" in closed_at_start:
        raise InputError("standard input is closed", "give texts as arguments or --file PATH")


class _OutlivesReader:
    """A standard stream that, once its reader is gone (EPIPE), writes to /dev/null from then on."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)
        # What the pipe refused is still buffered; it drains into /dev/null now.
        with contextlib.suppress(OSError):
            self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def outlive_readers() -> Iterator[None]:
    """Keep going when whoever reads stdout or stderr goes away (`rnncli train ... | head -3`).

    Training is worth finishing even when nobody watches it: its run directory keeps the result,
    and a run left `running` by a dead pipe could only be resumed by hand.
    """
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _OutlivesReader(sys.stdout), _OutlivesReader(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
