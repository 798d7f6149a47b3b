"""Saving and loading models in the `.keras` format, refusing anything unsafe or inconsistent."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from rnncli.atomic import atomic_replace
from rnncli.backend import keras
from rnncli.errors import RunError
from rnncli.models.registry import ModelSpec


def save(model, path: Path) -> None:
    """Write `model` to `path` atomically (Keras itself writes in place)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(tmp)
        atomic_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


#: What Keras raises for a file that is not a `.keras` model or is damaged (measured: a file
#: that is not a zip or is cut short, a flipped byte, a missing or mangled member, unknown or
#: inconsistent layers). Anything else is a bug and is not dressed up as a damaged file.
_DAMAGED = (ValueError, TypeError, KeyError, OSError, EOFError, zipfile.BadZipFile)


def load(path: Path, spec: ModelSpec | None = None):
    """Load with `safe_mode` on (no Lambda or other code) and check it against `spec`."""
    k = keras()
    unsafe = _code_in(path)
    if unsafe:
        raise RunError(f"refused {path}: it contains arbitrary code (a {unsafe})")
    try:
        model = k.models.load_model(path, safe_mode=True, compile=False)
    except _DAMAGED as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunError(f"cannot load model {path}: {reason}", "the file is damaged; retrain") from exc
    if spec is not None:
        check(model, spec, path)
    return model


def _code_in(path: Path) -> str | None:
    """What in the model's config would run code when loaded (a `Lambda` layer, a serialised
    lambda), or None. `safe_mode` refuses these too, but tells so only in its message."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # not a readable model: loading it says why
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            name = item.get("class_name")
            if name in ("Lambda", "__lambda__"):
                return "Lambda layer" if name == "Lambda" else "serialised Python lambda"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def check(model, spec: ModelSpec, path: Path) -> None:
    """Refuse a model whose shape disagrees with its run's config."""
    embedding = next((layer for layer in model.layers if layer.__class__.__name__ == "Embedding"), None)
    if embedding is None:
        raise RunError(f"{path}: model has no Embedding layer; not an rnncli model")
    if embedding.input_dim != spec.embedding_rows:
        raise RunError(
            f"{path}: model's vocabulary size {embedding.input_dim} disagrees with "
            f"config num_words {spec.num_words}"
            + (f" + buckets {spec.buckets}" if spec.embedding_rows != spec.num_words else "")
        )
    outputs = int(model.outputs[0].shape[-1])
    expected = 1 if spec.num_classes == 2 else spec.num_classes
    if outputs != expected:
        raise RunError(f"{path}: model has {outputs} outputs but config lists {spec.num_classes} classes")
