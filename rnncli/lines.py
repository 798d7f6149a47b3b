"""Decoding input one line at a time, so that a decoding error can name its line."""

from __future__ import annotations

from collections.abc import Callable

from rnncli.errors import RnncliError


def decode_line(
    raw: bytes, number: int, encoding: str, error: Callable[[int, UnicodeDecodeError], RnncliError]
) -> str:
    """Line `number` decoded (newline kept); a byte-order mark on the first line is dropped."""
    try:
        line = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise error(number, exc) from None
    return line.removeprefix("\ufeff") if number == 1 else line
