"""Accuracy on the full corpora: the book's three experiments, and the `best` presets over seeds.

    python benchmarks/accuracy.py book                 # the book's experiments, --val test as the book
    python benchmarks/accuracy.py presets --seeds 1 2 3
    python benchmarks/accuracy.py book --write docs/results.md   # also replace the table there

Each row is one `rnncli train ...` command run as a subprocess, exactly as a user would type it
(plus `--out` and `--no-plot`); the figures are read back from the run directory it wrote
(`metrics.json`, `history.json`). With `--write FILE` the Markdown table replaces the block
between `<!-- accuracy:book -->` (or `presets`) and `<!-- /accuracy -->` markers in FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOOK = [
    # (label, arguments, the book's printed test accuracy)
    ("Reuters `lstm`", ["reuters", "--val", "test"], 0.7177),
    ("IMDB `cnn-lstm`", ["imdb", "--arch", "cnn-lstm", "--val", "test"], 0.8796),
    ("IMDB `attention`", ["imdb", "--arch", "attention", "--val", "test"], 0.8808),
]
PRESETS = [
    ("Reuters `best`", ["reuters", "--preset", "best"]),
    ("IMDB `best`", ["imdb", "--preset", "best"]),
]


def machine() -> str:
    return f"{os.cpu_count()} CPU cores, no GPU, {platform.machine()}, Python {platform.python_version()}"


def train(arguments: list[str], out: Path) -> dict:
    """Run one `rnncli train` and read back what it recorded."""
    command = [sys.executable, "-m", "rnncli", "train", *arguments, "--out", str(out), "--no-plot"]
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())["epochs"]
    return {
        "accuracy": metrics["test_accuracy"],
        "best_epoch": metrics["best_epoch"],
        "epochs": metrics["epochs_run"],
        "seconds_per_epoch": statistics.median(e["seconds"] for e in history),
        "train_minutes": metrics["train_seconds"] / 60,
        "wall_minutes": (time.perf_counter() - started) / 60,
    }


def shown(arguments: list[str]) -> str:
    return "`rnncli train " + " ".join(arguments) + "`"


def book_table(seed: int, work: Path) -> str:
    lines = [
        "| experiment | test accuracy | book | epochs run (best) | s / epoch | minutes | command |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, arguments, printed in BOOK:
        arguments = [*arguments, "--seed", str(seed)]
        r = train(arguments, work / f"book-{len(lines)}")
        lines.append(
            f"| {label} | **{r['accuracy']:.4f}** | {printed:.4f} | {r['epochs']} ({r['best_epoch']}) | "
            f"{r['seconds_per_epoch']:.1f} | {r['train_minutes']:.1f} | {shown(arguments)} |"
        )
        print(lines[-1], flush=True)
    return "\n".join(lines)


def preset_table(seeds: list[int], work: Path) -> str:
    lines = [
        "| preset | mean test accuracy | spread (min – max) | per seed | epochs run (best) | "
        "minutes per run | command |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, arguments in PRESETS:
        results = [train([*arguments, "--seed", str(s)], work / f"{arguments[0]}-{s}") for s in seeds]
        accuracies = [r["accuracy"] for r in results]
        epochs = ", ".join(f"{r['epochs']} ({r['best_epoch']})" for r in results)
        command = shown([*arguments, "--seed", "S"])
        lines.append(
            f"| {label} | **{statistics.mean(accuracies):.4f}** | {min(accuracies):.4f} – "
            f"{max(accuracies):.4f} | {', '.join(f'{a:.4f}' for a in accuracies)} | "
            f"{epochs} | "
            f"{statistics.mean(r['train_minutes'] for r in results):.1f} | "
            f"{command}, S in {' '.join(map(str, seeds))} |"
        )
        print(lines[-1], flush=True)
    return "\n".join(lines)


def write(path: Path, name: str, table: str) -> None:
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"(<!-- accuracy:{name} -->\n).*?(<!-- /accuracy -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no <!-- accuracy:{name} --> ... <!-- /accuracy --> block")
    stamp = f"Measured {time.strftime('%Y-%m-%d')} on {machine()}.\n\n"
    path.write_text(pattern.sub(lambda m: m.group(1) + stamp + table + "\n" + m.group(2), text), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["book", "presets"])
    parser.add_argument("--seed", type=int, default=7, help="seed of the book rows")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds of the preset rows")
    parser.add_argument("--runs", type=Path, help="keep the run directories here [default: a temp dir]")
    parser.add_argument("--write", type=Path, help="replace the marked table in this Markdown file")
    args = parser.parse_args()
    print(f"# {machine()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.runs or Path(tmp)
        table = book_table(args.seed, work) if args.what == "book" else preset_table(args.seeds, work)
    print(table)
    if args.write:
        write(args.write, args.what, table)


if __name__ == "__main__":
    main()
