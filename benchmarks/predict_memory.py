"""Peak memory of `rnncli predict -` while it streams a large, hostile input.

    python benchmarks/predict_memory.py --run RUN --mb 10 100    # default: the latest run, 10 and 100

For each size, generates that many megabytes of input on the fly (never held in memory or on disk)
and pipes it into a cold `rnncli predict --model RUN -`, counting the answer lines as they come.
The input mixes review-like lines of 50 B to 20 KB in several scripts, NUL bytes and control
characters, right-to-left and combining marks, a 1 MB line every 10 MB, and one run of 100,000
empty lines. Reports the child's peak resident set size (`ru_maxrss` from `wait4`), the time, and
checks one answer per input line. A bounded stream shows the same peak at every size.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

_WORDS = (
    "the film was good bad great awful plot acting story director scene music boring wonderful "
    "слово фильм 좋은 영화 שלום עולם مرحبا فيلم 日本 映画 café naïve e\u0301 n\u0303 \u202eevil\u202c "
    "nul\x00byte tab\tstop bell\x07 esc\x1b[0m \U0001f600 \U0001f1fa\U0001f1f8"
)
WORDS = _WORDS.split(" ")
MB = 1024 * 1024


def hostile_lines(total_bytes: int, seed: int = 0) -> Iterator[tuple[bytes, int]]:
    """`(chunk, lines)` pieces adding up to about `total_bytes` of newline-terminated input."""
    rng = random.Random(seed)
    written = 0
    next_big = 0
    empties_done = False
    while written < total_bytes:
        if written >= next_big:
            text = " ".join(rng.choices(WORDS, k=150_000)).encode()[: MB - 1]
            line = text.decode("utf-8", "ignore").encode() + b"\n"  # cut on a character boundary
            next_big += 10 * MB
            yield line, 1
            written += len(line)
            continue
        if not empties_done and written >= total_bytes // 2:
            empties_done = True
            yield b"\n" * 100_000, 100_000
            written += 100_000
            continue
        lines = [" ".join(rng.choices(WORDS, k=rng.randint(8, 3_000))).replace("\n", " ") for _ in range(64)]
        chunk = ("\n".join(lines) + "\n").encode()
        yield chunk, len(lines)
        written += len(chunk)


def measure(run: str, megabytes: int) -> dict[str, float]:
    exe = str(Path(sys.executable).with_name("rnncli"))
    command = [exe, "predict", "--model", run, "-"] if os.path.exists(exe) else None
    command = command or [sys.executable, "-m", "rnncli", "predict", "--model", run, "-"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sent = {"lines": 0, "bytes": 0}
    answers = {"lines": 0}

    def feed() -> None:
        try:
            for chunk, count in hostile_lines(megabytes * MB):
                process.stdin.write(chunk)
                sent["lines"] += count
                sent["bytes"] += len(chunk)
        except BrokenPipeError:
            pass
        finally:
            process.stdin.close()

    def drain() -> None:
        for _ in process.stdout:
            answers["lines"] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=feed), threading.Thread(target=drain)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    error = process.stderr.read().decode()
    if process.returncode != 0 or answers["lines"] != sent["lines"]:
        raise SystemExit(
            f"predict failed: exit {process.returncode}, {answers['lines']} answers for "
            f"{sent['lines']} lines: {error.strip()}"
        )
    return {
        "mb": sent["bytes"] / MB,
        "lines": sent["lines"],
        "seconds": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", help="run directory [default: the latest run]")
    parser.add_argument("--mb", type=int, nargs="+", default=[10, 100], help="input sizes in MB")
    args = parser.parse_args()
    if args.run is None:
        from rnncli import runs

        args.run = str(runs.latest())
    print(f"run: {args.run}")
    print(f"{'input MB':>9} {'lines':>9} {'seconds':>8} {'MB/s':>6} {'peak RSS MB':>12}")
    for megabytes in args.mb:
        result = measure(args.run, megabytes)
        print(
            f"{result['mb']:9.1f} {result['lines']:9d} {result['seconds']:8.1f} "
            f"{result['mb'] / result['seconds']:6.2f} {result['peak_rss_mb']:12.1f}"
        )


if __name__ == "__main__":
    main()
