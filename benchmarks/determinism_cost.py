"""Does TensorFlow's op determinism (which seeded rnncli runs turn on) cost CPU time?

    python benchmarks/determinism_cost.py            # alternates with and without, 2 rounds each

Each round is a fresh process fitting one epoch of the book's cnn-lstm (5,000 words, 500
tokens, batches of 40) on 4,000 rows of random ids, after a warm-up fit; it prints the epoch's
wall and CPU seconds. A fresh process per round because determinism cannot be turned off once on.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

ROUND = r"""
import sys, time
import numpy as np
from rnncli.backend import keras, tensorflow
from rnncli.models import factories
from rnncli.models.registry import ModelSpec
keras().utils.set_random_seed(1)
if sys.argv[1] == "on":
    tensorflow().config.experimental.enable_op_determinism()
model = factories.build(ModelSpec("cnn-lstm", 5000, 500, 2, 128, 100, 0.5, mask=False))
rng = np.random.RandomState(0)
x = rng.randint(1, 5000, size=(4000, 500)).astype("int32")
y = rng.randint(0, 2, 4000).astype("float32")
model.fit(x[:400], y[:400], batch_size=40, epochs=1, verbose=0)
wall, cpu = time.perf_counter(), time.process_time()
model.fit(x, y, batch_size=40, epochs=1, verbose=0)
print(f"{time.perf_counter() - wall:.2f} {time.process_time() - cpu:.2f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.rounds):
        for mode in ("on", "off"):
            out = subprocess.run(
                [sys.executable, "-c", ROUND, mode], capture_output=True, text=True, check=True
            )
            wall, cpu = out.stdout.split()
            print(f"determinism {mode:3s}: epoch {wall} s wall, {cpu} s CPU")


if __name__ == "__main__":
    main()
