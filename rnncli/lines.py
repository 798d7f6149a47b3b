"""Reading text line by line from bytes, so that a decoding error can name its line."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from rnncli.errors import RnncliError


def decode_lines(
    lines: Iterable[bytes],
    encoding: str,
    error: Callable[[int, UnicodeDecodeError], RnncliError],
) -> Iterator[str]:
    """Decode each line (newline kept); a byte-order mark on the first line is dropped."""
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise error(number, exc) from None
        yield line.removeprefix("\ufeff") if number == 1 else line
