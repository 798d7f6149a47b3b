"""The fit step: build the model, put back the state the run continues from, train the epochs."""

from __future__ import annotations

import time

from rnncli import checkpoints
from rnncli.distribute import Distribution
from rnncli.models.registry import ModelSpec
from rnncli.settings import TrainSettings
from rnncli.training.data import Arrays
from rnncli.training.events import TrainResult, announce
from rnncli.training.outcome import Phase
from rnncli.training.pipelines import Inputs, choose_inputs
from rnncli.training.state import StartState

#: Bytes per embedding weight while training: the float32 weight, its gradient and Adam's two moments.
_TRAINING_BYTES_PER_WEIGHT = 4 * 4
#: NBSVM's per weight: those, the fixed ratio beside it, the float64 counts it is made from, and
#: the copies Keras makes of the table (set_weights, the best epoch's weights, the saved model).
#: Measured on a 46-class, 5-million-bucket Reuters run (231 million ratios): 15.2 GB at the peak of
#: a search trial while the ratios were stacked from float64 columns, 9.2 GB (40 bytes a ratio)
#: for `train` after (`/proc/PID/status` VmRSS every 2 s, 2026-11-30).
_NBSVM_BYTES_PER_WEIGHT = 48


def check_memory(spec: ModelSpec) -> None:
    """Refuse, before a run directory exists, an embedding table this machine cannot train.

    TensorFlow would otherwise fail deep inside the first allocation (or the kernel would kill
    the process), leaving a run behind; the table dominates every architecture's memory.
    """
    from rnncli.errors import UsageError
    from rnncli.memory import available as available_memory

    available = available_memory()
    if available is None:
        return
    needed = training_bytes(spec)
    if needed > available:
        raise UsageError(
            f"an embedding of {spec.embedding_rows:,} rows x {_table_width(spec)} needs about "
            f"{needed / 1024**3:.1f} GiB to train; this machine has {available / 1024**3:.1f} GiB available",
            "lower --num-words (or --buckets, --embedding-dim)",
        )


def training_bytes(spec: ModelSpec) -> int:
    """Bytes the embedding table takes while training: its weights, their gradient, Adam's moments."""
    per_weight = _NBSVM_BYTES_PER_WEIGHT if spec.arch == "nbsvm" else _TRAINING_BYTES_PER_WEIGHT
    return spec.embedding_rows * _table_width(spec) * per_weight


def _table_width(spec: ModelSpec) -> int:
    # NBSVM keeps one ratio per row and class (one column for two classes), not an embedding.
    if spec.arch == "nbsvm":
        return 1 if spec.num_classes == 2 else spec.num_classes
    return spec.embedding_dim


def build_model(
    spec: ModelSpec,
    arrays: Arrays,
    dist: Distribution,
    start: StartState,
    seed: int,
    deterministic: bool,
    precision: str = "float",
):
    """A compiled model under the strategy's scope, seeded, its loss and optimizer built."""
    from rnncli.backend import keras, set_determinism, tensorflow
    from rnncli.models import factories
    from rnncli.models.precision import policy_name

    tf = tensorflow()
    if deterministic:
        set_determinism(seed)
    else:
        keras().utils.set_random_seed(seed)
    with dist.scope():
        model = factories.build(spec, policy=policy_name(precision))
        if start.model_file is None:  # a checkpoint's weights include whatever fit_to_data sets
            factories.fit_to_data(model, spec, arrays.x_train, arrays.y_train)
    dist.prepare(
        model,
        (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.as_dtype(arrays.y_train.dtype))),
    )
    return model


def multi_worker_start(dist: Distribution, run_dir, patience: int, monitor: str = "val_loss") -> StartState:
    """Every worker takes the chief's restart state (read from its backup) as the job starts."""
    own = checkpoints.read_restart(run_dir, patience, monitor) if dist.info.chief else checkpoints.Restart()
    return StartState.from_restart(
        checkpoints.Restart.from_vector(dist.from_chief(own.vector()), own.history)
    )


def fit(
    model,
    start: StartState,
    settings: TrainSettings,
    spec: ModelSpec,
    arrays: Arrays,
    dist: Distribution,
    seed: int,
    result: TrainResult,
    events,
    phase: Phase,
) -> tuple[list | None, Inputs]:
    """Train the remaining epochs; return the best weights and the inputs for the test pass."""
    from rnncli.backend import keras
    from rnncli.training.callbacks import Recorder, callback_list, close_writers
    from rnncli.training.cluster import lost_workers

    run_dir = result.run_dir
    best_weights = start.restore(model, spec, run_dir, dist.info.chief, dist.scope)
    result.history, result.best_epoch, result.stopped_epoch = (
        list(start.history),
        start.best_epoch,
        start.epoch,
    )
    started = time.perf_counter()
    stopper = keras().callbacks.EarlyStopping(monitor=settings.monitor, patience=settings.patience)
    recorder = Recorder(events, result, start, best_weights, stopper, run_dir, dist)
    inputs = choose_inputs(arrays, spec, dist, seed, start.epoch, settings.epochs)
    events.on_train_begin(settings.epochs, inputs.steps_per_epoch, run_dir)
    if start.epoch:
        best = (start.best_epoch, start.best_loss_or_none(), settings.monitor)
        announce(events, "on_resume", start.epoch, *best)
    callbacks = callback_list(recorder, stopper, dist, run_dir)
    try:
        if not start.finished(settings.epochs):
            with dist.running(), lost_workers(dist, result):
                model.fit(
                    **inputs.fit_args,
                    epochs=settings.epochs,
                    initial_epoch=start.epoch,
                    callbacks=callbacks,
                    verbose=0,
                )
    finally:
        close_writers(callbacks)
        result.seconds = start.seconds + time.perf_counter() - started
        phase.best_loss = None if recorder.best_loss == float("inf") else recorder.best_loss
    return recorder.best_weights, inputs
