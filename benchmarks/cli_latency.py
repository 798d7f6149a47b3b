"""Wall time of cold `rnncli` processes: --help, an argument error, and one prediction.

    python benchmarks/cli_latency.py --run runs/imdb-cnn-lstm-...   # default: the latest run

Each command runs `--repeat` times in a fresh process; the median, min and max are printed with
the targets (0.3 s for --help; 0.15 s for argument errors and 0.25 s for predict, issue "Speed
II"; a Korean run's predict has 1.0 s, issue "Korean reviews").
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import time

TARGETS = {"--help": 0.3, "argument error": 0.15, "predict": 0.25}


def timed(command: list[str], expect: int) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True)
    elapsed = time.perf_counter() - start
    if result.returncode != expect:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}: {result.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", help="run directory for predict [default: the latest run]")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    exe = shutil.which("rnncli") or "rnncli"
    model = ["--model", args.run] if args.run else []
    commands = {
        "--help": ([exe, "--help"], 0),
        "argument error": ([exe, "train", "mnist"], 2),
        "predict": ([exe, "predict", *model, "great movie"], 0),
    }
    print(f"{os.cpu_count()} cores; {args.repeat} cold runs each")
    for name, (command, code) in commands.items():
        times = [timed(command, code) for _ in range(args.repeat)]
        median = statistics.median(times)
        verdict = "met" if median <= TARGETS[name] else "MISSED"
        print(
            f"{name:15s} median {median:.3f}s  min {min(times):.3f}s  max {max(times):.3f}s  "
            f"target {TARGETS[name]}s {verdict}"
        )


if __name__ == "__main__":
    main()
