"""`rnncli serve`: one trained run behind an HTTP API and a page, until SIGTERM or Ctrl-C.

The run is loaded (and checked, and run once) before anything listens, so a bad run is one
error line and exit 1, as for `predict`; the server then keeps that run for its whole life (a
newer run needs a restart). One line on stdout says where it listens; stderr gets one
access-log line per request. FastAPI and uvicorn are an optional extra, imported only here and
only when the command runs: `rnncli --help` never loads them.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Annotated

import typer

from rnncli.cli.options import ModelOption
from rnncli.errors import RnncliError, UsageError

SHORT_HELP = "Serve a trained run over HTTP: a JSON API and a page."

MISSING = 'serving needs FastAPI and uvicorn; install them with: pip install "rnncli[serve]"'
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def serve(
    model: ModelOption = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; 0.0.0.0 listens on every interface.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port; 0 takes a free one (the URL line says which).")
    ] = 8000,
    max_body: Annotated[
        str, typer.Option("--max-body", help="Largest request body (e.g. 1MB, 256KiB); larger ones get 413.")
    ] = "1MB",
    max_texts: Annotated[int, typer.Option("--max-texts", help="Most texts in one request.")] = 1000,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", help="Most texts per model call, gathered from concurrent requests."),
    ] = 256,
    batch_wait_ms: Annotated[
        float,
        typer.Option(
            "--batch-wait-ms", help="How long a request may wait for others to share its model call."
        ),
    ] = 5.0,
    precision: Annotated[
        str,
        typer.Option("--precision", help="auto: the run's int8 export where it kept one; float: float only."),
    ] = "auto",
) -> None:
    """Serve a trained run over HTTP: a JSON API and a page.

    POST /predict {"texts": [...], "top_k": 1, "explain": false} answers as predict --json does;
    GET /health, /ready, /metadata; API docs at /docs; a page at /. Concurrent requests share
    model calls. SIGTERM or Ctrl-C finishes the requests in flight, then exits 0. The server
    keeps the run it started with: restart it to serve a newer one.
    """
    limits = _limits(port, max_body, max_texts, batch_size, batch_wait_ms, precision)
    _require_serving_packages()
    from rnncli import runs
    from rnncli.predict import Predictor
    from rnncli.serving import server
    from rnncli.serving.app import Limits, create_app

    predictor = Predictor(runs.open_run(model), precision=precision)
    predictor.predict(["a first text, so that a broken model fails here and not on a request"])
    sock = server.bind(host, port)
    app = create_app(predictor, Limits(**limits))
    name = predictor.run.path.resolve().name
    line = f"rnncli: serving {name} at {server.url_of(sock)} (API docs at /docs); SIGTERM or Ctrl-C stops"
    server.serve(app, sock, lambda: _say(line), LOG_CONFIG)


def _limits(
    port: int, max_body: str, max_texts: int, batch_size: int, wait_ms: float, precision: str
) -> dict:
    """The options checked, as the app's `Limits` fields; every mistake a usage error (exit 2)."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {port}")
    if max_texts < 1:
        raise UsageError(f"--max-texts must be at least 1, got {max_texts}")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {batch_size}")
    if not 0 <= wait_ms <= 1000:
        raise UsageError(f"--batch-wait-ms must be from 0 to 1000, got {wait_ms:g}")
    if precision not in ("auto", "float"):
        raise UsageError(f"--precision must be auto or float, got {precision!r}")
    return {
        "max_body": parse_size(max_body),
        "max_texts": max_texts,
        "batch_size": batch_size,
        "batch_wait_ms": wait_ms,
    }


def parse_size(text: str) -> int:
    """`1MB` (10^6), `256KiB` (2^10 each), `4096`: a byte count for `--max-body`."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match and _UNITS.get(match.group(2).lower())
    if not match or unit is None:
        raise UsageError(f"--max-body must be a size such as 1MB, 512KiB or 65536, got {text!r}")
    size = int(float(match.group(1)) * unit)
    if size < 1:
        raise UsageError(f"--max-body must be at least 1 byte, got {text!r}")
    return size


def _require_serving_packages() -> None:
    """FastAPI and uvicorn, or one line saying how to install them (before loading any run)."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise RnncliError(MISSING) from None


def _say(line: str) -> None:
    """The URL line on stdout, at once (a pipe would hold it back); a closed stdout loses only it."""
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


class _ServerFormatter(logging.Formatter):
    """uvicorn's own warnings and errors as `rnncli: warning: ...`, like the CLI's other lines."""

    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return super().format(record)


#: Access lines (timestamped) and uvicorn's warnings and errors, all on stderr; uvicorn's
#: start-up chatter is left out (the URL line says what matters).
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "access": {"format": "%(asctime)s %(message)s", "datefmt": "%Y-%m-%dT%H:%M:%S%z"},
        "server": {"()": _ServerFormatter, "format": "rnncli: %(levelname)s: %(message)s"},
    },
    "handlers": {
        "access": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "access"},
        "server": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "server"},
    },
    "loggers": {
        "rnncli.serving.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["server"], "level": "WARNING", "propagate": False},
        "uvicorn.error": {"level": "WARNING"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}
