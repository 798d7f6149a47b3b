"""Ctrl-C and SIGTERM while a run trains: both stop it at the next batch, marked interrupted.

Python raises KeyboardInterrupt at whatever bytecode the main thread runs next; when that is a
finaliser (TensorFlow runs many `__del__` methods), the exception is printed as "ignored" and
lost, and training would go on. So every signal is also noted in a flag, and `InterruptCheck`
raises it again from a plain callback at the next batch. SIGTERM (what `kill`, systemd and
container runtimes send) is treated like Ctrl-C, so the run is left resumable rather than
`running` with a dead pid. A SIGINT that the parent set to be ignored (`rnncli train &` from a
script) stays ignored.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same handlers keep the run resumable."""


_PENDING: list[type[KeyboardInterrupt]] = []
_SEEN = threading.Event()


def interrupt_pending() -> None:
    """Raise the noted signal, if one arrived and was swallowed."""
    if _SEEN.is_set():
        raise (_PENDING[-1] if _PENDING else KeyboardInterrupt)()


@contextlib.contextmanager
def signals_noted() -> Iterator[None]:
    """While training: SIGINT and SIGTERM raise (and are noted); the old handlers come back after."""

    def handlers(previous: dict) -> tuple:
        def on_sigint(signum, frame):
            _note(KeyboardInterrupt)
            handler = previous[signal.SIGINT]
            if callable(handler):
                handler(signum, frame)  # Python's own handler raises KeyboardInterrupt
            else:
                raise KeyboardInterrupt

        def on_sigterm(signum, frame):
            _note(Terminated)
            raise Terminated

        return on_sigint, on_sigterm

    with _handled(handlers):
        yield


@contextlib.contextmanager
def _handled(handlers) -> Iterator[None]:
    """Install `handlers(previous)`'s SIGINT and SIGTERM handlers (not over an ignored SIGINT or
    SIGTERM, and only in the main thread, where Python delivers signals); restore them after."""
    _SEEN.clear()
    _PENDING.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig, handler in zip((signal.SIGINT, signal.SIGTERM), handlers(previous)):
        if previous[sig] is not signal.SIG_IGN:
            signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)


def _note(kind: type[KeyboardInterrupt]) -> None:
    _PENDING.append(kind)
    _SEEN.set()


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM only noted; `interrupt_pending()` raises them where it is safe.

    For loops of many short steps (a search's trials): raising at whatever bytecode runs next can
    land in a finaliser, where Python prints "Exception ignored" with a traceback; a noted signal
    is raised instead at the next batch end (`InterruptCheck`) or between steps.
    """

    def handlers(previous: dict) -> tuple:
        return (lambda signum, frame: _note(KeyboardInterrupt), lambda signum, frame: _note(Terminated))

    with _handled(handlers):
        yield
