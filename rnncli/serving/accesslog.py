"""One access-log line per request: who asked what, the status, and how long the answer took.

An ASGI middleware around the whole application, so that every request is logged once,
whatever answered it (a route, a 404, a refused body, the last-resort 500). The line goes to
the `rnncli.serving.access` logger; the CLI decides where that writes (stderr). The query string
is left out: the page's `/?text=...` would otherwise put a user's text into the log.
"""

from __future__ import annotations

import logging
import time

LOGGER = "rnncli.serving.access"


class AccessLog:
    """`127.0.0.1:50312 "POST /predict HTTP/1.1" 200 4.1 ms`, logged when the answer is sent."""

    def __init__(self, app, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or logging.getLogger(LOGGER)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            status = status or 500
            raise
        finally:
            self.logger.info("%s", line(scope, status, time.perf_counter() - start))


def line(scope, status: int, seconds: float) -> str:
    client = scope.get("client")
    who = f"{client[0]}:{client[1]}" if client else "-"
    request = f"{scope.get('method', '-')} {wire_path(scope)} HTTP/{scope.get('http_version', '1.1')}"
    # Status 0: the client went away before any answer was started.
    return f'{who} "{request}" {status or "-"} {seconds * 1000:.1f} ms'


def wire_path(scope) -> str:
    """The path as it came on the wire (still %-encoded): a decoded `%0A` would split the line."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.decode("ascii", "backslashreplace")
    return scope.get("path", "").encode("unicode_escape").decode("ascii")
