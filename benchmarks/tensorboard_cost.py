"""What the TensorBoard logs cost an epoch: the same seeded training with and without them.

    pip install tensorboard                  # or rnncli[tensorboard]
    python benchmarks/tensorboard_cost.py    # IMDB, 4,000 training reviews, cnn-lstm, 3 rounds

Each round trains two fresh, identically seeded models for `--epochs` epochs on the same padded
arrays: one with rnncli's `TensorBoard` callback (`rnncli.training.callbacks.tensorboard`, as
every run uses it), one without; the order alternates between rounds. Prints the mean seconds per
epoch of each and the relative cost, and, steadier on a shared machine, the time spent inside the
callback's own hooks as a share of the epochs it logged.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="imdb")
    parser.add_argument("--limit", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from rnncli import settings
    from rnncli.backend import keras
    from rnncli.data.sources import load_corpus
    from rnncli.models import factories
    from rnncli.training.callbacks import tensorboard
    from rnncli.training.data import prepare_arrays

    resolved = settings.resolve(args.dataset, limit=args.limit, seed=1)
    corpus = load_corpus(resolved.dataset, None, 1).limited(args.limit)
    arrays = prepare_arrays(corpus, resolved, 1)
    spec = settings.model_spec(resolved, len(corpus.label_names))
    seconds: dict[bool, list[float]] = {True: [], False: []}
    logs = tempfile.TemporaryDirectory(prefix="tb-cost-")  # removed when the process ends
    for round_ in range(args.rounds):
        for logged in (round_ % 2 == 0, round_ % 2 == 1):
            keras().utils.set_random_seed(1)
            model = factories.build(spec)
            callbacks = [_timed(tensorboard(Path(logs.name) / str(round_)))] if logged else []
            started = time.perf_counter()
            model.fit(
                arrays.x_train, arrays.y_train, batch_size=resolved.batch_size, epochs=args.epochs,
                validation_data=(arrays.x_val, arrays.y_val), callbacks=callbacks, verbose=0,
            )  # fmt: skip
            seconds[logged].append((time.perf_counter() - started) / args.epochs)
    hooks = sum(_HOOK_SECONDS) / (sum(seconds[True]) * args.epochs)
    with_logs = sum(seconds[True]) / len(seconds[True])
    without = sum(seconds[False]) / len(seconds[False])
    print(
        f"{args.dataset} {spec.arch}, {len(arrays.x_train)} training texts, {args.rounds} rounds: "
        f"{with_logs:.2f} s/epoch with TensorBoard logs, {without:.2f} s without: "
        f"{100 * (with_logs - without) / without:+.1f}%; inside the callback's hooks: {100 * hooks:.2f}% "
        "of the logged epochs"
    )


_HOOK_SECONDS: list[float] = []


def _timed(callback):
    """The callback with every `on_*` hook timed into `_HOOK_SECONDS`."""
    for name in dir(callback):
        if name.startswith("on_") and callable(getattr(callback, name)):
            hook = getattr(callback, name)

            def timed(*args, hook=hook, **kwargs):
                started = time.perf_counter()
                try:
                    return hook(*args, **kwargs)
                finally:
                    _HOOK_SECONDS.append(time.perf_counter() - started)

            setattr(callback, name, timed)
    return callback


if __name__ == "__main__":
    main()
