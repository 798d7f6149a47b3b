"""uvicorn running the application on a socket bound before it starts, and stopping gracefully.

The socket is bound here rather than by uvicorn so that a port in use or a host that does not
resolve is one of our errors (one line, exit 1 or 2) instead of uvicorn's log line and exit 3,
and so that `--port 0` can report the port the system chose.

SIGTERM and Ctrl-C stop the server the same way: it stops accepting connections, lets the
requests in flight finish (up to `GRACE_S`), stops the batcher, and returns, so the command
exits 0. uvicorn itself re-raises the signal once it has stopped, which would end the process
with 143 or a KeyboardInterrupt: for a server, being told to stop is how it is meant to end.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from rnncli.errors import RnncliError, UsageError

#: Seconds the requests in flight get to finish after SIGTERM before they are cancelled.
GRACE_S = 30.0


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, not yet listening (uvicorn listens on it)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"--host {host}: cannot resolve it ({reason})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # A restart can take the port back at once, without waiting out the old TIME_WAITs.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise RnncliError(
            f"cannot listen on {host} port {port}: {exc.strerror or exc}",
            "another process may hold the port: pick another --port" if port else None,
        ) from None
    return sock


def url_of(sock: socket.socket) -> str:
    """`http://HOST:PORT` of a bound socket, with the port the system chose for `--port 0`."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn's server, telling when it listens and exiting quietly once stopped by a signal."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.on_started()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # As uvicorn's own, less recording the signal to raise again after the shutdown.
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for the requests in flight
        else:
            self.should_exit = True


def serve(app, sock: socket.socket, on_started: Callable[[], None], log_config: dict) -> None:
    """Serve `app` on `sock` until SIGTERM or Ctrl-C; `on_started` runs once it answers."""
    config = uvicorn.Config(
        app,
        log_config=log_config,
        access_log=False,  # `accesslog.AccessLog` writes one line per request instead
        lifespan="on",
        timeout_graceful_shutdown=GRACE_S,
        server_header=False,
    )
    _Server(config, on_started).run(sockets=[sock])
