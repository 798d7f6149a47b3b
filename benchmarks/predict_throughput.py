"""Texts per second through `rnncli predict -`, against plain Keras on the same texts.

    python benchmarks/predict_throughput.py --run runs/imdb-cnn-lstm-...   # default: latest run

Takes the first `--count` IMDB test reviews (from the archive in $RNNCLI_DATA or the cache), one
per line, and measures:
  rnncli   `rnncli predict --model RUN - < reviews > labels`, a cold process, end to end
           (start-up, reading, encoding, inference, writing);
  keras    a cold process doing the same job the plain way: `keras.models.load_model(...)`,
           encoding with the run's vocabulary, `keras.utils.pad_sequences`, `model.predict(...)`;
           its in-process predict-only rate is printed too.
Both runs are checked to give the same labels.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = r"""
import json, sys, time
import numpy as np
start = time.perf_counter()
import keras
import rnncli.models.layers  # registers the custom layers, as any user would have to
from rnncli.text import tokenize
run, texts_path = sys.argv[1], sys.argv[2]
config = json.load(open(f"{run}/config.json"))
words = json.load(open(f"{run}/vocab.json"))["words"]
index = {w: i + 4 for i, w in enumerate(words)}
texts = open(texts_path, encoding="utf-8").read().splitlines()
model = keras.models.load_model(f"{run}/model.keras")
t0 = time.perf_counter()
ids = [[1] + [index.get(t, 2) for t in tokenize(s)] for s in texts]
x = keras.utils.pad_sequences(ids, maxlen=config["model"]["maxlen"])
p = model.predict(x, batch_size=256, verbose=0)
t1 = time.perf_counter()
names = config["label_names"]
p = np.concatenate([1 - p, p], axis=1) if p.shape[1] == 1 else p
sys.stdout.write("".join(names[i] + "\n" for i in p.argmax(axis=1)))
print(f"{len(texts) / (t1 - t0):.0f}", file=sys.stderr)
"""


def latest_run() -> str:
    from rnncli import runs

    return str(runs.latest())


def reviews(count: int) -> list[str]:
    from rnncli.data import imdb
    from rnncli.data.builtin import DATASETS
    from rnncli.data.fetch import locate

    source = locate(DATASETS["imdb"].filename, DATASETS["imdb"].folder)
    if source is None:
        raise SystemExit("aclImdb_v1.tar.gz not found: set RNNCLI_DATA")
    corpus = imdb.load(source)
    return [" ".join(text.split()) for text in corpus.test_texts[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", help="run directory [default: the latest run]")
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    run = args.run or latest_run()
    texts = reviews(args.count)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reviews.txt"
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
        rnncli_exe = str(Path(sys.executable).with_name("rnncli"))
        start = time.perf_counter()
        with open(path, "rb") as stdin:
            ours = subprocess.run(
                [rnncli_exe, "predict", "--model", run, "-"], stdin=stdin, capture_output=True
            )
        ours_s = time.perf_counter() - start
        if ours.returncode != 0:
            raise SystemExit(ours.stderr.decode())
        start = time.perf_counter()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        plain = subprocess.run([sys.executable, "-c", BASELINE, run, str(path)], capture_output=True, env=env)
        plain_s = time.perf_counter() - start
        if plain.returncode != 0:
            raise SystemExit(plain.stderr.decode())
    ours_labels = [line.split("\t")[0] for line in ours.stdout.decode().splitlines()]
    plain_labels = plain.stdout.decode().splitlines()
    same = sum(a == b for a, b in zip(ours_labels, plain_labels))
    print(f"run: {run}; {len(texts)} IMDB test reviews; {os.cpu_count()} cores")
    print(f"rnncli predict -   {len(texts) / ours_s:7.0f} texts/s end to end ({ours_s:.2f}s, cold process)")
    print(
        f"plain Keras        {len(texts) / plain_s:7.0f} texts/s end to end ({plain_s:.2f}s, cold process); "
        f"{plain.stderr.decode().strip().splitlines()[-1]} texts/s encode+predict in process"
    )
    print(f"ratio rnncli / keras (end to end): {plain_s / ours_s:.2f}x; same label on {same}/{len(texts)}")


if __name__ == "__main__":
    main()
