"""Training speed: the book's plain Keras program against rnncli's training path.

For each of the book's three models, on the same slice of the real corpus, with the same batch
size, this times one epoch of (a) the model exactly as the book writes it (`Sequential`,
`model.fit` on arrays padded to `maxlen`) and (b) rnncli's path (the same layers and parameter
count, fed by rnncli's own `tf.data` pipeline; where the dataset's default masks padding, batches
cut to their longest text), alternating A and B.
It prints the median epoch time of each and the ratio rnncli / plain. Then, since masking
changes the arithmetic, it trains both for a few epochs on a larger slice and reports their test
accuracy on the same test slice.

    python benchmarks/train_speed.py                 # all three models
    python benchmarks/train_speed.py --models lstm --rounds 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from rnncli.backend import keras, set_determinism
from rnncli.data import builtin
from rnncli.models import factories
from rnncli.models.registry import ModelSpec
from rnncli.settings import DATASET_DEFAULTS
from rnncli.training.pipelines import all_epochs_batched, all_epochs_padded

BOOK = {
    # name: dataset, num_words, maxlen, batch size, classes
    "lstm": ("reuters", 1000, 100, 20, 46),
    "cnn-lstm": ("imdb", 5000, 500, 40, 2),
    "attention": ("imdb", 5000, 500, 40, 2),
}


def book_model(name: str, classes: int):
    """The chapter's programs, layer for layer (the attention block is rnncli's own layer)."""
    k = keras()
    layers = k.layers
    if name == "lstm":
        model = k.Sequential(
            [
                layers.Embedding(1000, 100),
                layers.LSTM(100, activation="tanh"),
                layers.Dense(46, activation="softmax"),
            ]
        )
        loss = "sparse_categorical_crossentropy"  # the book one-hot encodes; same loss and gradients
    elif name == "cnn-lstm":
        model = k.Sequential(
            [
                layers.Embedding(5000, 100),
                layers.Dropout(0.5),
                layers.Conv1D(64, 5, padding="valid", activation="relu", strides=1),
                layers.MaxPooling1D(pool_size=4),
                layers.LSTM(55),
                layers.Dense(1),
                layers.Activation("sigmoid"),
            ]
        )
        loss = "binary_crossentropy"
    else:
        from rnncli.models.layers import LuongAttention

        model = k.Sequential(
            [
                layers.Embedding(5000, 500),
                layers.Dropout(0.5),
                layers.LSTM(64, return_sequences=True),
                LuongAttention(128),
                layers.Dropout(0.5),
                layers.Dense(1),
                layers.Activation("sigmoid"),
            ]
        )
        loss = "binary_crossentropy"
    model.compile(loss=loss, optimizer="adam", metrics=["accuracy"])
    return model


def masked_by_default(name: str) -> bool:
    return DATASET_DEFAULTS[BOOK[name][0]].mask


def rnncli_model(name: str, classes: int, num_words: int, maxlen: int, mask: bool):
    arch_defaults = {"lstm": (100, 100, 0.0), "cnn-lstm": (100, 55, 0.5), "attention": (500, 64, 0.5)}
    embedding, units, dropout = arch_defaults[name]
    return factories.build(ModelSpec(name, num_words, maxlen, classes, embedding, units, dropout, mask=mask))


def data(name: str, train_rows: int, test_rows: int):
    dataset, num_words, maxlen, batch, classes = BOOK[name]
    corpus = builtin.load(dataset)
    dtype = np.float32 if classes == 2 else np.int32
    x = corpus.train.padded(num_words, maxlen)[:train_rows]
    y = corpus.train_labels[:train_rows].astype(dtype)
    xt = corpus.test.padded(num_words, maxlen)[:test_rows]
    yt = corpus.test_labels[:test_rows].astype(dtype)
    return x, y, xt, yt


def _timed(run) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process); CPU time is steadier on a shared machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def epoch_plain(model, x, y, batch):
    return _timed(lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0))


def epoch_rnncli(model, x, y, batch, seed, mask: bool):
    """rnncli's path: its own `tf.data` pipeline, batches cut to length for masked models and at
    maxlen otherwise (here for one epoch, built inside the timing)."""
    pipeline = all_epochs_batched if mask else all_epochs_padded
    return _timed(lambda: model.fit(pipeline(x, y, batch, seed, 0, 1), epochs=1, verbose=0, shuffle=False))


def speed(name: str, rows: int, rounds: int, mask: bool) -> dict[str, float]:
    dataset, num_words, maxlen, batch, classes = BOOK[name]
    x, y, _, _ = data(name, rows, 0)
    plain = book_model(name, classes)
    ours = rnncli_model(name, classes, num_words, maxlen, mask)
    # Warm-up epoch each: tracing and first-call costs are not what we compare.
    epoch_plain(plain, x, y, batch)
    epoch_rnncli(ours, x, y, batch, 0, mask)
    a, b = [], []
    for r in range(rounds):
        a.append(epoch_plain(plain, x, y, batch))
        b.append(epoch_rnncli(ours, x, y, batch, r + 1, mask))
        print(
            f"  {name} round {r + 1}: plain {a[-1][0]:.2f}s wall {a[-1][1]:.2f}s cpu  "
            f"rnncli {b[-1][0]:.2f}s wall {b[-1][1]:.2f}s cpu",
            flush=True,
        )
    return {
        "plain_wall": statistics.median(t[0] for t in a),
        "rnncli_wall": statistics.median(t[0] for t in b),
        "plain_cpu": statistics.median(t[1] for t in a),
        "rnncli_cpu": statistics.median(t[1] for t in b),
    }


def accuracy(name: str, rows: int, test_rows: int, epochs: int, mask: bool) -> tuple[float, float]:
    dataset, num_words, maxlen, batch, classes = BOOK[name]
    x, y, xt, yt = data(name, rows, test_rows)
    set_determinism(0)
    plain = book_model(name, classes)
    for _ in range(epochs):
        epoch_plain(plain, x, y, batch)
    acc_plain = float(plain.evaluate(xt, yt, batch_size=256, verbose=0)[1])
    set_determinism(0)
    ours = rnncli_model(name, classes, num_words, maxlen, mask)
    for e in range(epochs):
        epoch_rnncli(ours, x, y, batch, e, mask)
    acc_ours = float(ours.evaluate(xt, yt, batch_size=256, verbose=0)[1])
    return acc_plain, acc_ours


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=list(BOOK), choices=list(BOOK))
    parser.add_argument("--rows", type=int, default=2000, help="training texts timed per epoch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--acc-rows", type=int, default=6000, help="training texts for the accuracy check")
    parser.add_argument("--acc-test", type=int, default=2000)
    parser.add_argument("--acc-epochs", type=int, default=2)
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument(
        "--mask",
        choices=["default", "on", "off"],
        default="default",
        help="rnncli's path with padding masked or not [default: each dataset's default]",
    )
    args = parser.parse_args()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}"
    print(f"machine: {machine}; keras {keras().__version__}")
    results = []
    for name in args.models:
        mask = masked_by_default(name) if args.mask == "default" else args.mask == "on"
        t = speed(name, args.rows, args.rounds, mask)
        line = (
            f"{name}: median epoch plain {t['plain_wall']:.2f}s  rnncli {t['rnncli_wall']:.2f}s  "
            f"ratio {t['rnncli_wall'] / t['plain_wall']:.2f} wall, "
            f"{t['rnncli_cpu'] / t['plain_cpu']:.2f} cpu  ({args.rows} texts, {args.rounds} rounds, "
            f"mask {'on' if mask else 'off'})"
        )
        if not args.no_accuracy:
            pa, pb = accuracy(name, args.acc_rows, args.acc_test, args.acc_epochs, mask)
            line += (
                f"  | test accuracy after {args.acc_epochs} epochs on {args.acc_rows} texts: "
                f"plain {pa:.4f}  rnncli {pb:.4f}"
            )
        results.append(line)
        print(line, flush=True)
    print("\nsummary")
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
