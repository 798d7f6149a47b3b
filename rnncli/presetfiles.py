"""Preset files: named settings in a JSON file, for `rnncli train --preset-file FILE`.

The built-in presets (`rnncli.settings.PRESETS`) were chosen by hand for three corpora; a file
carries settings found for the user's own data (by hand, or by a search) to the next run, and
the options given on the command line still override it, as they override `--preset`.

    {"description": "...", "settings": {"arch": "nbsvm", "num_words": 40000, ...}}

Only the settings that describe a model and its training may appear (no data paths, seeds or
output folders), each with its own JSON type; anything else is one clear error.
"""

from __future__ import annotations

import json
from pathlib import Path

from rnncli.errors import UsageError

#: What a preset file may set, and the JSON type of each (a float also takes an integer).
SETTING_TYPES: dict[str, type] = {
    "arch": str,
    "epochs": int,
    "batch_size": int,
    "patience": int,
    "num_words": int,
    "maxlen": int,
    "embedding_dim": int,
    "units": int,
    "dropout": float,
    "learning_rate": float,
    "val": str,
    "mask": bool,
    "buckets": int,
    "ngrams": int,
    "pooling": str,
    "attention": str,
    "tokenizer": str,
}


def load(path: Path) -> tuple[str, dict[str, object]]:
    """The description and the settings of the preset file at `path`, checked."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read preset file {path} ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"preset file {path} is not JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("settings"), dict):
        raise UsageError(f'preset file {path} must be a JSON object with a "settings" object')
    chosen = payload["settings"]
    for name, value in chosen.items():
        kind = SETTING_TYPES.get(name)
        if kind is None:
            raise UsageError(
                f"preset file {path}: unknown setting {name!r}", f"it may set: {', '.join(SETTING_TYPES)}"
            )
        if not _is(value, kind):
            raise UsageError(f"preset file {path}: {name} must be a JSON {_json_name(kind)}, got {value!r}")
    description = payload.get("description")
    return (description if isinstance(description, str) else Path(path).name), dict(chosen)


def save(path: Path, description: str, chosen: dict[str, object]) -> None:
    """Write a preset file `load` reads back (only the settings it may hold)."""
    from rnncli.atomic import atomic_write_text

    unknown = sorted(set(chosen) - set(SETTING_TYPES))
    if unknown:
        raise ValueError(f"not preset settings: {', '.join(unknown)}")
    payload = {"description": description, "settings": chosen}
    atomic_write_text(Path(path), json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def _is(value: object, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def _json_name(kind: type) -> str:
    return {bool: "true or false", int: "integer", float: "number", str: "string"}[kind]
