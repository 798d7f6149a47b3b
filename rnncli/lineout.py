"""Plain lines and JSON Lines records on stdout, for pipelines.

Apart from `rnncli.console` because that one imports Rich (about 30 ms): `rnncli predict`
writing to a pipe loads only this.
"""

from __future__ import annotations

import json
import sys


def write_line(text: str) -> None:
    """Plain stdout line for pipelines: no markup, no wrapping."""
    sys.stdout.write(text + "\n")


#: Line breaks to `str.splitlines` that JSON leaves raw; escaped so one record stays one line.
_JSON_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def json_line(record: object) -> None:
    """One JSON Lines record: UTF-8 as is, but never a character any reader takes for a line end."""
    write_line(json.dumps(record, ensure_ascii=False).translate(_JSON_LINE_BREAKS))
