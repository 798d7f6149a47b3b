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


def choose_inputs(
    arrays: Arrays, spec: ModelSpec, dist: Distribution, seed: int, first_epoch: int, epochs: int
) -> Inputs:
    """`epochs`: the last epoch fit will run (the length-bucketed pipeline holds them all)."""
    inputs = _inputs(arrays, spec, dist, seed, first_epoch, epochs)
    if not len(arrays.x_val):
        # `--val none`: Keras fits without validation and logs no val_loss.
        del inputs.fit_args["validation_data"]
    return inputs


def _inputs(
    arrays: Arrays, spec: ModelSpec, dist: Distribution, seed: int, first_epoch: int, epochs: int
) -> Inputs:
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
    # rnncli's own pipelines, never arrays handed to Keras (its pipeline for them is autotuned:
    # `without_autotune` says what that cost), with every epoch's batches in one pipeline and
    # `steps` an epoch. Masked models ignore padding, so batches are cut to their longest text;
    # unmasked ones keep the book's arithmetic, every batch at maxlen.
    all_epochs, one_pass = (
        (all_epochs_batched, sorted_batched) if spec.mask else (all_epochs_padded, in_order_padded)
    )
    train = all_epochs(arrays.x_train, arrays.y_train, batch, seed, first_epoch, epochs)
    return Inputs(
        {
            "x": train,
            "validation_data": one_pass(arrays.x_val, arrays.y_val, eval_batch),
            "shuffle": False,
            "steps_per_epoch": steps,
        },
        steps,
        lambda: {"x": one_pass(arrays.x_test, arrays.y_test, eval_batch)},
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
    return without_autotune(dataset.prefetch(2))


def all_epochs_batched(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, first_epoch: int, last_epoch: int
):
    """`length_batched`'s batches for epochs `first_epoch` to `last_epoch` - 1, one after another,
    cut from `x` and `y` by TensorFlow itself.

    Why not `length_batched` (a Python generator, one pipeline an epoch): Keras opens and deletes
    an iterator each epoch, each deletion a chance of the stall `without_autotune` removes, and
    the generator's thread took the interpreter from the training loop's Python. Here the batch
    plans are drawn up front (`batching.plan`, seeded per epoch, so the batches are the
    generator's, row for row), Keras keeps one iterator for the whole fit (`steps_per_epoch`),
    and no Python runs while training reads them: NSMC's preset epochs went from 9.0-9.7 to
    8.4-9.5 s.
    """
    lengths = batching.lengths_of(x)
    epochs = range(first_epoch, max(first_epoch, last_epoch))
    plans = [rows for epoch in epochs for rows in batching.plan(lengths, batch_size, (seed + epoch) % 2**32)]
    return _cut_batches(x, y, plans, lengths)


def all_epochs_padded(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, first_epoch: int, last_epoch: int
):
    """`length_batched(cut=False)`'s batches (rows in a seeded order per epoch, every batch at
    maxlen) for epochs `first_epoch` to `last_epoch` - 1, from one pipeline as
    `all_epochs_batched` does for masked models."""
    epochs = range(first_epoch, max(first_epoch, last_epoch))
    plans = [rows for epoch in epochs for rows in _padded_plan(len(x), batch_size, (seed + epoch) % 2**32)]
    return _cut_batches(x, y, plans, None)


def in_order_padded(x: np.ndarray, y: np.ndarray, batch_size: int):
    """One pass over the rows in order, every batch at maxlen: an unmasked model's validation and test."""
    return _cut_batches(x, y, _padded_plan(len(x), batch_size, None), None)


def sorted_batched(x: np.ndarray, y: np.ndarray, batch_size: int):
    """One pass in order of length, as `length_batched` with no seed gives: validation and test."""
    lengths = batching.lengths_of(x)
    return _cut_batches(x, y, batching.plan(lengths, batch_size, None), lengths)


def _cut_batches(x: np.ndarray, y: np.ndarray, plans: list[np.ndarray], lengths: np.ndarray | None):
    """A `tf.data` pipeline of `(x[rows], y[rows])` for each planned batch, cut to its width
    (its longest text's; `lengths` None keeps every batch at maxlen)."""
    from rnncli.backend import tensorflow

    tf = tensorflow()
    maxlen = x.shape[1]
    most_rows = max((len(rows) for rows in plans), default=1)  # shorter batches are padded to it
    table = np.zeros((len(plans), most_rows), dtype=np.int32)
    counts = np.zeros(len(plans), dtype=np.int32)
    starts = np.zeros(len(plans), dtype=np.int32)
    for index, rows in enumerate(plans):
        table[index, : len(rows)] = rows
        counts[index] = len(rows)
        if lengths is not None:
            starts[index] = maxlen - batching.width_for(lengths[rows].max(), maxlen)
    texts, labels = tf.constant(x), tf.constant(y)

    def cut(batch_rows, count, start):
        chosen = batch_rows[:count]
        return tf.gather(texts, chosen)[:, start:], tf.gather(labels, chosen)

    return without_autotune(tf.data.Dataset.from_tensor_slices((table, counts, starts)).map(cut).prefetch(2))


def without_autotune(dataset):
    """`dataset` with tf.data's autotuning off: its buffers are fixed here anyway (`prefetch(2)`).

    Each iterator of an autotuned pipeline starts a thread that re-optimises it at growing
    intervals, and deleting the iterator waits for that thread's current interval to run out:
    training sat with both cores idle for 7-19 s, once or twice a run, deleting an epoch's or the
    last iterator (CPU sampled each second; gdb: the main thread in `~RootDataset::Iterator`
    waiting for the thread in `model::Model::OptimizeLoop`).
    """
    from rnncli.backend import tensorflow

    options = tensorflow().data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def _padded_plan(count: int, batch_size: int, seed: int | None) -> list[np.ndarray]:
    """Rows of each batch: a seeded permutation cut in order (no seed: in order)."""
    order = np.arange(count) if seed is None else np.random.RandomState(seed).permutation(count)
    return [order[start : start + batch_size] for start in range(0, count, batch_size)]


def _padded_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None):
    for rows in _padded_plan(len(x), batch_size, seed):
        yield x[rows], y[rows]
