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


#: The Keras module once `keras()` has set it up; every Keras import in rnncli goes through here,
#: so that `RNNCLI_CPU_DEVICES` and the backend are applied whichever module asks first.
_KERAS: ModuleType | None = None


def keras() -> ModuleType:
    """Import Keras (TensorFlow backend) with TensorFlow's start-up chatter silenced.

    rnncli is a TensorFlow program (its models, checkpoints and LiteRT exports are TensorFlow's),
    so `KERAS_BACKEND` is set, not inherited: a shell that exports `KERAS_BACKEND=jax` for other
    work would otherwise make Keras import JAX and fail.
    """
    global _KERAS
    if _KERAS is not None:
        return _KERAS
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    with stderr_fd_silenced():
        import absl.logging
        import tensorflow  # noqa: F401

    absl.logging.set_verbosity(absl.logging.ERROR)
    _split_cpu(tensorflow)
    import keras as _keras

    if _keras.backend.backend() != "tensorflow":
        from rnncli.errors import RnncliError

        # Only possible when something imported Keras before rnncli, under another backend.
        raise RnncliError(
            f"Keras was imported with the {_keras.backend.backend()} backend before rnncli set it up",
            "rnncli needs KERAS_BACKEND=tensorflow",
        )
    # Set before the layers are imported: `rnncli.models.layers` itself calls `keras()`.
    _KERAS = _keras
    # Register our custom layers before any model is loaded.
    import rnncli.models.layers  # noqa: F401

    return _keras


#: Splits the CPU into this many logical devices, so that `--strategy mirrored` has replicas to
#: mirror over on a machine without GPUs (tests, trying the strategies out; docs/distributed.md).
CPU_DEVICES_ENV = "RNNCLI_CPU_DEVICES"


def _split_cpu(tf: ModuleType) -> None:
    """Apply `RNNCLI_CPU_DEVICES`, which only TensorFlow's first import can still honour.

    Logical devices are fixed once TensorFlow initialises its runtime, so this runs as soon as
    TensorFlow is imported, before Keras or any strategy touches a device.
    """
    from rnncli.errors import RnncliError, UsageError

    raw = os.environ.get(CPU_DEVICES_ENV, "").strip()
    if not raw:
        return
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if not 1 <= count <= 64:
        raise UsageError(f"{CPU_DEVICES_ENV} must be a whole number from 1 to 64, got {raw!r}")
    if count == 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as exc:  # the runtime was already initialised by whoever imported TF first
        raise RnncliError(f"{CPU_DEVICES_ENV}={raw} came too late: {exc}") from exc


def tensorflow() -> ModuleType:
    keras()
    import tensorflow as tf

    return tf


def set_determinism(seed: int) -> None:
    """Same seed, same CPU run: seeds Python, NumPy and TensorFlow and turns on op determinism."""
    keras().utils.set_random_seed(seed)
    tensorflow().config.experimental.enable_op_determinism()
