"""`train --precision`: the arithmetic a model trains in (the weights stay float32 either way).

Mixed precision computes layers in 16 bits and keeps float32 variables: float16 on a GPU, where
tensor cores run it and Keras scales the loss so that small gradients survive; bfloat16 on a CPU,
which has float32's range (no loss scaling) and which recent x86 CPUs multiply natively, where
float16 would be emulated. The model a run saves is always float32 (`float_twin`), so testing,
`evaluate`, `predict` and the exports never depend on how it was trained.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

FLOAT = "float"
MIXED = "mixed"
PRECISIONS = (FLOAT, MIXED)


def policy_name(precision: str) -> str:
    """The Keras dtype policy for `precision` on this machine's devices."""
    if precision == FLOAT:
        return "float32"
    from rnncli.backend import tensorflow

    return "mixed_float16" if tensorflow().config.list_logical_devices("GPU") else "mixed_bfloat16"


@contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Layers built inside take the `name` policy; the global policy is restored afterwards, so a
    mixed run never changes what later models in the same process (tests, `tune`) are built with."""
    from rnncli.backend import keras

    config = keras().config
    before = config.dtype_policy()
    config.set_dtype_policy(name)
    try:
        yield
    finally:
        config.set_dtype_policy(before)


def float_twin(model, build):
    """A float32 model with `model`'s weights: `build()` makes the same architecture."""
    with dtype_policy("float32"):
        twin = build()
    twin.set_weights(model.get_weights())
    return twin
