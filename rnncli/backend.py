"""The one place that imports TensorFlow and Keras, quietly and only when needed."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def stderr_fd_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while TensorFlow's C++ runtime starts.

    TensorFlow 2.21 logs oneDNN and CUDA notices from C++ before its logging is configured, so
    `TF_CPP_MIN_LOG_LEVEL` cannot hide them; they would land in every user's terminal.
    """
    if os.environ.get("RNNCLI_DEBUG"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def stdout_and_stderr_silenced() -> Iterator[None]:
    """Send both standard streams' file descriptors to /dev/null (TensorFlow prints to fd 1 too)."""
    if os.environ.get("RNNCLI_DEBUG"):
        yield
        return
    sys.stdout.flush()
    saved_out = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
        with stderr_fd_silenced():
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved_out, 1)
        os.close(saved_out)


def keras() -> ModuleType:
    """Import Keras (TensorFlow backend) with TensorFlow's start-up chatter silenced."""
    if "keras" in sys.modules and "rnncli.models.layers" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with stderr_fd_silenced():
        import absl.logging
        import tensorflow  # noqa: F401

    absl.logging.set_verbosity(absl.logging.ERROR)
    import keras as _keras

    # Register our custom layers before any model is loaded.
    import rnncli.models.layers  # noqa: F401

    return _keras


def tensorflow() -> ModuleType:
    keras()
    import tensorflow as tf

    return tf


def set_determinism(seed: int) -> None:
    """Same seed, same CPU run: seeds Python, NumPy and TensorFlow and turns on op determinism."""
    keras().utils.set_random_seed(seed)
    tensorflow().config.experimental.enable_op_determinism()
