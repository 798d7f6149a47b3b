"""Texts per second and latency of `rnncli serve` under N concurrent clients.

    python benchmarks/serve_load.py --run runs/imdb-cnn-lstm-...          # default: latest run
    python benchmarks/serve_load.py --run RUN --clients 1,4,16,64 --seconds 10 --per-request 8

Starts the server as a user would (`rnncli serve --model RUN --port 0`, its access log to a
temporary file), then for each N in `--clients` runs N concurrent httpx async clients for
`--seconds`, each sending `--per-request` real IMDB test reviews per request (from
$RNNCLI_DATA or the cache, as benchmarks/predict_throughput.py reads them), one request after
another. Prints, per N: texts/s, requests/s, p50/p95/p99 latency, errors (any answer but 200,
or a failed connection), texts per model call (how much the server's batching gathered, from
/health), and the server's peak resident memory so far (VmHWM from /proc/PID/status).

The clients are spread over up to `--client-processes` processes (default 4): one httpx
process driving 64 connections was itself the bottleneck (about 900 texts/s against a server
that gave 4,400 to four processes of 16). On a small machine the clients still take CPU from
the server, so read the figures as a floor, and pin the two apart (`taskset`) for cleaner ones.
Extra options for the server go after `--`, e.g. `-- --batch-size 64 --batch-wait-ms 2`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def latest_run() -> str:
    from rnncli import runs

    return str(runs.latest())


def reviews(count: int) -> list[str]:
    """The first `count` IMDB test reviews, whitespace collapsed."""
    from rnncli.data import imdb
    from rnncli.data.builtin import DATASETS
    from rnncli.data.fetch import locate

    source = locate(DATASETS["imdb"].filename, DATASETS["imdb"].folder)
    if source is None:
        raise SystemExit("aclImdb_v1.tar.gz not found: set RNNCLI_DATA")
    return [" ".join(text.split()) for text in imdb.load(source).test_texts[:count]]


def start_server(run: str, extra: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    """`rnncli serve` on a free port, and its URL once it listens."""
    exe = Path(sys.executable).with_name("rnncli")
    command = [str(exe)] if exe.is_file() else [sys.executable, "-m", "rnncli"]
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [*command, "serve", "--model", run, "--port", "0", *extra], stdout=subprocess.PIPE, stderr=err
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if select.select([process.stdout], [], [], 0.5)[0]:
            match = re.search(r"http://\S+", process.stdout.readline().decode())
            if match:
                return process, match.group(0)
        if process.poll() is not None:
            break
    process.kill()
    raise SystemExit(f"the server did not start:\n{log.read_text()[-3000:]}")


def peak_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def load(url: str, clients: int, seconds: float, texts: list[str], per_request: int) -> dict:
    """`clients` clients posting for `seconds`: latencies, texts answered, errors."""
    import httpx

    latencies: list[float] = []
    answered = errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        deadline = time.perf_counter() + seconds

        async def client(number: int) -> None:
            nonlocal answered, errors
            offset = number * per_request
            while time.perf_counter() < deadline:
                batch = [texts[(offset + i) % len(texts)] for i in range(per_request)]
                offset += clients * per_request
                start = time.perf_counter()
                try:
                    response = await http.post("/predict", json={"texts": batch})
                    ok = response.status_code == 200 and len(response.json()["predictions"]) == per_request
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                answered += per_request if ok else 0
                errors += 0 if ok else 1

        begun = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - begun
    return {"latencies": sorted(latencies), "answered": answered, "errors": errors, "seconds": elapsed}


def _load_in_process(url: str, clients: int, seconds: float, texts: list[str], per_request: int) -> dict:
    return asyncio.run(load(url, clients, seconds, texts, per_request))


def spread_load(url: str, clients: int, processes: int, seconds: float, texts: list[str], per: int) -> dict:
    """`clients` clients split over up to `processes` processes, their results merged."""
    processes = max(1, min(processes, clients))
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    # Each process starts at a different review, so the requests are not all the same.
    jobs = [(url, share, seconds, texts[i * 97 :] + texts[: i * 97], per) for i, share in enumerate(shares)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.starmap(_load_in_process, jobs)
    return {
        "latencies": sorted(x for r in results for x in r["latencies"]),
        "answered": sum(r["answered"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "seconds": max(r["seconds"] for r in results),
    }


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def health(url: str) -> dict:
    import httpx

    return httpx.get(f"{url}/health", timeout=30).json()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", help="run directory [default: the latest run]")
    parser.add_argument("--clients", default="1,4,16,64", help="concurrent clients, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="per level of clients")
    parser.add_argument("--per-request", type=int, default=8, help="reviews per request")
    parser.add_argument("--count", type=int, default=2000, help="distinct reviews to cycle through")
    parser.add_argument("--client-processes", type=int, default=4, help="processes the clients run in")
    parser.add_argument("server", nargs="*", help="options for rnncli serve, after --")
    args = parser.parse_args()
    run = args.run or latest_run()
    texts = reviews(args.count)
    levels = [int(n) for n in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(run, args.server, Path(tmp) / "access.log")
        try:
            asyncio.run(load(url, 1, 0.5, texts, args.per_request))  # warm up
            print(f"run: {run}; {args.per_request} IMDB test reviews per request; {os.cpu_count()} cores")
            print(f"{'clients':>7} {'texts/s':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
                  f"{'errors':>6} {'per call':>8} {'peak MB':>8}")  # fmt: skip
            for clients in levels:
                before = health(url)
                result = spread_load(
                    url, clients, args.client_processes, args.seconds, texts, args.per_request
                )
                after = health(url)
                calls = max(1, after["batches"] - before["batches"])
                ordered, seconds = result["latencies"], result["seconds"]
                print(
                    f"{clients:>7} {result['answered'] / seconds:>8.0f} {len(ordered) / seconds:>7.1f} "
                    f"{percentile(ordered, 0.50) * 1000:>7.1f} {percentile(ordered, 0.95) * 1000:>7.1f} "
                    f"{percentile(ordered, 0.99) * 1000:>7.1f} {result['errors']:>6} "
                    f"{(after['texts'] - before['texts']) / calls:>8.1f} {peak_mb(process.pid):>8.0f}",
                    flush=True,
                )
        finally:
            process.terminate()
            try:
                status = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                status = process.wait()
            process.stdout.close()
    if status != 0:
        raise SystemExit(f"the server exited {status} after SIGTERM")


if __name__ == "__main__":
    main()
