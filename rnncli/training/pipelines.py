"""How batches reach the model: one choice, made once, for `fit` and for the test pass.

Three pipelines, by what the run needs:
- under a tf.distribute strategy: a `tf.data` pipeline of global batches, sharded by data
  (cut to each batch's longest text when the model masks, padded to maxlen when it does not);
- a masked model on the default device: the same length-bucketed pipeline, unsharded;
- otherwise the book's arithmetic: every text padded to maxlen, plain arrays.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnncli import batching
from rnncli.distribute import Distribution
from rnncli.models.registry import ModelSpec
from rnncli.training.data import Arrays

#: Evaluation batches: larger than training ones (no gradients), at least this many texts.
EVAL_BATCH = 256


@dataclass
class Inputs:
    """What `model.fit` and `model.evaluate` take, and how many steps an epoch has."""

    fit_args: dict
    steps_per_epoch: int
    #: Built only when the test pass comes, so training's pipelines are all that exist before.
    test_args: Callable[[], dict]
    #: Whether fit and evaluate must run inside `Distribution.running()`.
    distributed: bool


def choose_inputs(arrays: Arrays, spec: ModelSpec, dist: Distribution, seed: int, first_epoch: int) -> Inputs:
    inputs = _inputs(arrays, spec, dist, seed, first_epoch)
    if not len(arrays.x_val):
        # `--val none`: Keras fits without validation and logs no val_loss.
        del inputs.fit_args["validation_data"]
    return inputs


def _inputs(arrays: Arrays, spec: ModelSpec, dist: Distribution, seed: int, first_epoch: int) -> Inputs:
    batch = dist.info.global_batch
    eval_batch = max(batch, EVAL_BATCH)
    steps = batching.steps(len(arrays.x_train), batch)
    if not dist.default:
        # Under a strategy, batches are global and split over the replicas.
        train = length_batched(arrays.x_train, arrays.y_train, batch, seed, first_epoch, cut=spec.mask)
        val = length_batched(arrays.x_val, arrays.y_val, eval_batch, None, cut=spec.mask)
        return Inputs(
            {"x": dist.dataset(train), "validation_data": dist.dataset(val), "shuffle": False},
            steps,
            lambda: {
                "x": dist.dataset(
                    length_batched(arrays.x_test, arrays.y_test, eval_batch, None, cut=spec.mask)
                )
            },
            True,
        )
    if spec.mask:
        # Masked models ignore padding, so batches are cut to their longest text; the pipeline
        # shuffles itself, seeded per epoch.
        train = length_batched(arrays.x_train, arrays.y_train, batch, seed, first_epoch)
        val = length_batched(arrays.x_val, arrays.y_val, eval_batch, None)
        return Inputs(
            {"x": train, "validation_data": val, "shuffle": False},
            steps,
            lambda: {"x": length_batched(arrays.x_test, arrays.y_test, eval_batch, None)},
            False,
        )
    return Inputs(
        {
            "x": arrays.x_train,
            "y": arrays.y_train,
            "batch_size": batch,
            "validation_data": (arrays.x_val, arrays.y_val),
        },
        steps,
        lambda: {"x": arrays.x_test, "y": arrays.y_test, "batch_size": eval_batch},
        False,
    )


def length_batched(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    seed: int | None,
    first_epoch: int = 0,
    cut: bool = True,
):
    """A `tf.data` pipeline of length-bucketed batches; reshuffled each epoch when seeded.

    Epoch `e` is shuffled with `seed + e`, so a run resumed at `first_epoch` sees the batches
    the uninterrupted run would have. `cut=False` keeps every batch padded to maxlen and
    shuffles plain rows: the book's arithmetic, as a pipeline that a strategy can shard.
    """
    from rnncli.backend import tensorflow

    tf = tensorflow()
    epochs = itertools.count(first_epoch)

    def generate():
        epoch_seed = None if seed is None else (seed + next(epochs)) % 2**32
        if cut:
            yield from batching.iter_batches(x, y, batch_size, epoch_seed)
        else:
            yield from _padded_batches(x, y, batch_size, epoch_seed)

    signature = (
        tf.TensorSpec((None, None), tf.int32),
        tf.TensorSpec((None,), tf.as_dtype(y.dtype)),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batching.steps(len(x), batch_size)))
    return dataset.prefetch(2)


def _padded_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None):
    order = np.arange(len(x)) if seed is None else np.random.RandomState(seed).permutation(len(x))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        yield x[rows], y[rows]
