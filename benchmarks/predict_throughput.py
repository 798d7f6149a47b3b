"""Texts per second through `rnncli predict -`, against plain Keras on the same texts.

    python benchmarks/predict_throughput.py --run runs/imdb-cnn-lstm-...   # default: latest run
    python benchmarks/predict_throughput.py --run runs/nsmc-lstm-... --corpus nsmc

Takes the first `--count` test reviews of `--corpus` (IMDB's archive or NSMC's ratings_test.txt,
from $RNNCLI_DATA or the cache; default: the run's own dataset, else IMDB), one per line, and
measures:
  rnncli   `rnncli predict --model RUN - < reviews > labels`, a cold process, end to end
           (start-up, reading, encoding, inference, writing);
  keras    a cold process doing the same job the plain way: `keras.models.load_model(...)`,
           encoding with the run's tokenizer and vocabulary, `keras.utils.pad_sequences`,
           `model.predict(...)`;
           its in-process predict-only rate is printed too.
Both runs are checked to give the same labels, and rnncli's labels against the true ones
(`--precision float` against the default measures what a run's int8 export costs; `--no-keras`
skips the plain program).
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
from rnncli import tokenizers  # the run's own tokenizer, as any user would have to
run, texts_path = sys.argv[1], sys.argv[2]
config = json.load(open(f"{run}/config.json"))
tokenize = tokenizers.load(run, config.get("tokenizer")).tokens
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


def run_dataset(run: str) -> str:
    import json

    dataset = json.loads((Path(run) / "config.json").read_text()).get("dataset")
    return dataset if dataset in ("imdb", "nsmc") else "imdb"


def reviews(corpus_name: str, count: int) -> tuple[list[str], list[str]]:
    """The first `count` test reviews, one line each, and their true labels."""
    from rnncli.data import imdb
    from rnncli.data.builtin import DATASETS
    from rnncli.data.fetch import locate

    if corpus_name == "nsmc":
        from rnncli.data import fetch, nsmc

        corpus = nsmc.load(fetch.locate_together(nsmc.FILES, "nsmc", None), None)
    else:
        source = locate(DATASETS["imdb"].filename, DATASETS["imdb"].folder)
        if source is None:
            raise SystemExit("aclImdb_v1.tar.gz not found: set RNNCLI_DATA")
        corpus = imdb.load(source)
    texts = [" ".join(text.split()) for text in corpus.test_texts[:count]]
    return texts, [corpus.label_names[int(y)] for y in corpus.test_labels[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", help="run directory [default: the latest run]")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--corpus", choices=("imdb", "nsmc"), help="[default: the run's dataset]")
    parser.add_argument("--precision", choices=("auto", "float"), default="auto", help="rnncli's --precision")
    parser.add_argument("--no-keras", action="store_true", help="skip the plain Keras program")
    args = parser.parse_args()
    run = args.run or latest_run()
    corpus_name = args.corpus or run_dataset(run)
    texts, truth = reviews(corpus_name, args.count)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reviews.txt"
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
        rnncli_exe = str(Path(sys.executable).with_name("rnncli"))
        start = time.perf_counter()
        with open(path, "rb") as stdin:
            ours = subprocess.run(
                [rnncli_exe, "predict", "--model", run, "--precision", args.precision, "-"],
                stdin=stdin,
                capture_output=True,
            )
        ours_s = time.perf_counter() - start
        if ours.returncode != 0:
            raise SystemExit(ours.stderr.decode())
        ours_labels = [line.split("\t")[0] for line in ours.stdout.decode().splitlines()]
        accuracy = sum(a == b for a, b in zip(ours_labels, truth)) / len(truth)
        print(f"run: {run}; {len(texts)} {corpus_name.upper()} test reviews; {os.cpu_count()} cores")
        print(
            f"rnncli predict -   {len(texts) / ours_s:7.0f} texts/s end to end ({ours_s:.2f}s, cold process, "
            f"--precision {args.precision}); accuracy {accuracy:.4f}"
        )
        if args.no_keras:
            return
        start = time.perf_counter()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        plain = subprocess.run([sys.executable, "-c", BASELINE, run, str(path)], capture_output=True, env=env)
        plain_s = time.perf_counter() - start
        if plain.returncode != 0:
            raise SystemExit(plain.stderr.decode())
    plain_labels = plain.stdout.decode().splitlines()
    same = sum(a == b for a, b in zip(ours_labels, plain_labels))
    print(
        f"plain Keras        {len(texts) / plain_s:7.0f} texts/s end to end ({plain_s:.2f}s, cold process); "
        f"{plain.stderr.decode().strip().splitlines()[-1]} texts/s encode+predict in process"
    )
    print(f"ratio rnncli / keras (end to end): {plain_s / ours_s:.2f}x; same label on {same}/{len(texts)}")


if __name__ == "__main__":
    main()
