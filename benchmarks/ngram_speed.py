"""rnncli's bag-of-n-grams training against fastText on the same data, in the same session.

    python benchmarks/ngram_speed.py nsmc              # rnncli train nsmc --preset best
    python benchmarks/ngram_speed.py imdb --seeds 1 2 3
    pip install fasttext-wheel                         # optional: the peer (not an rnncli dependency)

rnncli is run as a user runs it (`rnncli train DATASET --preset best --seed S` in a subprocess,
in a temporary runs root); its training seconds, epochs and test accuracy come from the run's
own `metrics.json` and `history.json`. fastText, when installed, is trained on the same training
file (bigrams, character 1-3-grams for NSMC, 5 epochs) and tested on the same test split. The
ratio of training times is printed only when both ran in this session.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rnncli_run(dataset: str, seed: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="ngram-speed-") as folder:
        return _timed_rnncli_run(Path(folder), dataset, seed, extra)


def _timed_rnncli_run(root: Path, dataset: str, seed: int, extra: list[str]) -> dict:
    run = root / "run"
    command = [sys.executable, "-m", "rnncli", "train", dataset, "--preset", "best", "--seed", str(seed)]
    command += ["--no-plot", "--out", str(run), *extra]
    started = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "RNNCLI_RUNS": str(root / "runs")})
    wall = time.perf_counter() - started
    metrics = json.loads((run / "metrics.json").read_text())
    epochs = json.loads((run / "history.json").read_text())["epochs"]
    return {
        "accuracy": metrics["test_accuracy"],
        "train_seconds": metrics["train_seconds"],
        "epochs": len(epochs),
        "seconds_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs),
        "wall_seconds": wall,
    }


def fasttext_run(dataset: str) -> dict | None:
    try:
        import fasttext  # noqa: F401  (only whether it is installed)
    except ImportError:
        return None
    from rnncli.data import builtin, fetch

    if dataset == "nsmc":
        from rnncli.data import nsmc

        raw = nsmc.load(fetch.locate_together(nsmc.FILES, "nsmc", None), None)
        options = {"wordNgrams": 2, "minn": 1, "maxn": 3, "epoch": 5}
    else:
        from rnncli.data import imdb

        info = builtin.get(dataset)
        raw = imdb.load(fetch.locate(info.filename, info.folder, None), None)
        options = {"wordNgrams": 2, "epoch": 5}
    with tempfile.TemporaryDirectory(prefix="fasttext-") as folder:
        return _timed_fasttext_run(Path(folder) / "train.txt", raw, options)


def _timed_fasttext_run(train: Path, raw, options: dict) -> dict:
    import fasttext

    with open(train, "w", encoding="utf-8") as handle:
        for text, label in zip(raw.train_texts, raw.train_labels):
            handle.write(f"__label__{int(label)} {' '.join(text.split())}\n")
    started = time.perf_counter()
    model = fasttext.train_supervised(str(train), verbose=0, **options)
    seconds = time.perf_counter() - started
    labels, _ = model.predict([" ".join(text.split()) for text in raw.test_texts])
    correct = sum(
        int(found[0].removeprefix("__label__")) == int(y) for found, y in zip(labels, raw.test_labels)
    )
    return {"accuracy": correct / len(raw.test_labels), "train_seconds": seconds, "options": options}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=["nsmc", "imdb"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--no-fasttext", action="store_true")
    args, extra = parser.parse_known_args()
    results = [rnncli_run(args.dataset, seed, extra) for seed in args.seeds]
    for seed, result in zip(args.seeds, results):
        print(
            f"rnncli {args.dataset} --preset best --seed {seed}: test accuracy {result['accuracy']:.4f}, "
            f"{result['epochs']} epochs, {result['seconds_per_epoch']:.1f} s/epoch, "
            f"{result['train_seconds']:.1f} s training, {result['wall_seconds']:.0f} s wall",
            flush=True,
        )
    mean_accuracy = sum(r["accuracy"] for r in results) / len(results)
    mean_seconds = sum(r["train_seconds"] for r in results) / len(results)
    print(f"rnncli mean: accuracy {mean_accuracy:.4f}, training {mean_seconds:.1f} s")
    peer = None if args.no_fasttext else fasttext_run(args.dataset)
    if peer is None:
        print("fastText: not installed (pip install fasttext-wheel) or skipped")
        return
    print(
        f"fastText {peer['options']}: test accuracy {peer['accuracy']:.4f}, "
        f"training {peer['train_seconds']:.1f} s; "
        f"rnncli/fastText training time {mean_seconds / peer['train_seconds']:.1f}x; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
