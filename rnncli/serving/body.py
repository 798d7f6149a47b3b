"""A request body, read under its size limit and checked, every problem one line and a 4xx.

The body is parsed here rather than by FastAPI so that each way a client can get it wrong has
its own status and a reason a person can act on: a body over `--max-body` is refused while it
streams in (413, before the rest is read, however large it is or whether it says its length),
bytes that are not UTF-8 and JSON that does not parse are 400, and JSON that parses but asks for
something impossible (no `texts`, a number where a string goes, too many texts) is 422.
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request

from rnncli.serving.schemas import PredictRequest

EXAMPLE = '{"texts": ["..."]}'


class ApiError(Exception):
    """A request the server refuses: its HTTP status and the one-line reason sent back."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())  # one line, whatever went into it


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 as soon as it is known to be over `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the client went away before sending the whole body") from None
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"the body is over the server's limit of {limit:,} bytes (--max-body): "
        "send fewer or shorter texts per request",
    )


def parse_predict(raw: bytes, max_texts: int) -> PredictRequest:
    """The `POST /predict` request in `raw`, or an ApiError saying what is wrong with it."""
    payload = parse_json(raw)
    if not isinstance(payload, dict):
        raise ApiError(422, f"the body must be a JSON object such as {EXAMPLE}, not {json_type(payload)}")
    try:
        request = PredictRequest.model_validate(payload)
    except ValidationError as exc:
        raise ApiError(422, describe(exc)) from None
    if len(request.texts) > max_texts:
        raise ApiError(
            422,
            f"texts holds {len(request.texts):,} texts, over the server's limit of {max_texts:,} per request "
            "(--max-texts): split them over several requests",
        )
    return request


def parse_json(raw: bytes) -> object:
    """JSON text in UTF-8 (a leading byte-order mark allowed, as RFC 8259 lets readers do)."""
    if not raw.strip():
        raise ApiError(400, f"the body is empty: send a JSON object such as {EXAMPLE}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, f"the body is not valid UTF-8 (byte {exc.start}): send JSON encoded as UTF-8"
        ) from None
    try:
        return json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ApiError(400, "the body is not usable JSON: it is nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise ApiError(400, f"the body is not usable JSON: {exc}") from None


def describe(exc: ValidationError) -> str:
    """The first problem pydantic found, in words, and how many more there are."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = location(first["loc"])
    kind, message = first["type"], first["msg"].removeprefix("Value error, ")
    if kind == "missing":
        line = f"{where} is missing: send a JSON object such as {EXAMPLE}"
    elif kind == "extra_forbidden":
        line = f"unknown field {where!r}: the fields are {', '.join(PredictRequest.model_fields)}"
    elif kind == "too_short" and where == "texts":
        line = "texts is empty: give at least one text"
    elif kind.endswith("_type"):
        line = f"{where}: {message}, not {json_type(first.get('input'))}"
    else:
        line = f"{where}: {message}" if where not in message else message
    more = len(errors) - 1
    return line + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def location(loc: tuple) -> str:
    """`("texts", 2)` as `texts[2]`: how a client would point at it in its own code."""
    parts = [str(loc[0])] if loc else ["body"]
    parts += [f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:]]
    return "".join(parts)


def json_type(value: object) -> str:
    """What a JSON value is, in JSON's words rather than Python's."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
