"""Saving and loading models in the `.keras` format, refusing anything unsafe or inconsistent."""

from __future__ import annotations

import os
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


def load(path: Path, spec: ModelSpec | None = None):
    """Load with `safe_mode` on (no Lambda or other code) and check it against `spec`."""
    k = keras()
    try:
        model = k.models.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many types for damaged or unsafe files.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise RunError(f"refused {path}: it contains arbitrary code ({reason})") from exc
        raise RunError(f"cannot load model {path}: {reason}", "the file is damaged; retrain") from exc
    if spec is not None:
        check(model, spec, path)
    return model


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
