"""`rnncli serve`: the real server, started as a user starts it, asked over real HTTP.

Every server here is a `python -m rnncli serve` subprocess on 127.0.0.1 and a port the system
picks (`--port 0`; the URL line says which), killed in a `finally` whatever happens. Answers are
checked against `rnncli predict --json` on the same run. The page is checked in a real headless
Chromium when one is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from rnncli import runs
from rnncli.cli.serve import MISSING
from tests.conftest import run_cli

httpx = pytest.importorskip("httpx", reason="the serve tests need httpx (the test extra)")
pytest.importorskip("fastapi", reason="rnncli serve needs FastAPI (the serve extra)")
pytest.importorskip("uvicorn", reason="rnncli serve needs uvicorn (the serve extra)")

#: Texts in several scripts, an empty one, one over the run's maxlen, one with an emoji.
TEXTS = [
    "good film",
    "bad фильм 좋은",
    "",
    "café naïve 日本 " * 20,
    "שלום مرحبا film",
    "an emoji 😀 and good words",
    "nothing here is in the vocabulary",
]
START_S = 90  # a cold start imports NumPy and LiteRT on a busy machine
ACCESS_LINE = re.compile(r'^\S+ 127\.0\.0\.1:\d+ "(GET|POST|PUT) (\S+) HTTP/1\.1" (\d{3}) \d+\.\d ms$')


@dataclass
class Served:
    process: subprocess.Popen
    url: str
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")


def _url_line(process: subprocess.Popen, stderr: Path, timeout: float) -> str:
    """The URL from the line the server prints once it listens, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline().decode()
            match = re.search(r"http://\S+", line)
            assert match, f"no URL in {line!r}; stderr: {stderr.read_text()}"
            return match.group(0)
        if process.poll() is not None:
            pytest.fail(f"the server exited {process.returncode}: {stderr.read_text()}")
    pytest.fail(f"no URL line within {timeout}s; stderr: {stderr.read_text()}")


def _wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"{url}/ready did not answer 200 within {timeout}s")


@contextlib.contextmanager
def serving(run: Path | None, folder: Path, *options: str, env: dict | None = None) -> Iterator[Served]:
    """A server on `run` (None: the latest run), its stderr in `folder`; always killed at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    stderr = folder / f"serve-{time.monotonic_ns()}.err"
    model = ["--model", str(run)] if run is not None else []
    command = [sys.executable, "-m", "rnncli", "serve", *model, "--port", "0", *options]
    with open(stderr, "wb") as err:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=err, env={**os.environ, **(env or {})}
        )
    try:
        url = _url_line(process, stderr, START_S)
        _wait_ready(url)
        yield Served(process, url, stderr)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        process.stdout.close()


@pytest.fixture(scope="module")
def server(tiny_run, tmp_path_factory) -> Iterator[Served]:
    """One server for the tests that do not stop it: small limits, a long batching window."""
    folder = tmp_path_factory.mktemp("serve")
    options = ("--max-body", "64KB", "--max-texts", "50", "--batch-wait-ms", "50")
    with serving(tiny_run, folder, *options) as served:
        yield served


def _post(url: str, payload: object, **kwargs) -> httpx.Response:
    return httpx.post(f"{url}/predict", json=payload, timeout=60, **kwargs)


def _predict_json(run: Path, texts: list[str], *options: str) -> list[dict]:
    result = run_cli("predict", "--model", str(run), "--json", *options, *texts)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def _same_probabilities(ours: dict[str, float], theirs: dict[str, float]) -> bool:
    return ours.keys() == theirs.keys() and all(abs(ours[k] - theirs[k]) <= 1e-6 for k in ours)


def _assert_still_serving(url: str) -> None:
    assert httpx.get(f"{url}/health", timeout=10).json()["status"] == "ok"
    answer = _post(url, {"texts": ["good film"]})
    assert answer.status_code == 200 and answer.json()["predictions"][0]["text"] == "good film"


# --- answers ----------------------------------------------------------------------------------


def test_predict_answers_as_predict_json_does(server, tiny_run):
    expected = _predict_json(tiny_run, TEXTS)
    answer = _post(server.url, {"texts": TEXTS})
    assert answer.status_code == 200, answer.text
    got = answer.json()["predictions"]
    assert [p["text"] for p in got] == TEXTS
    assert [p["label"] for p in got] == [e["label"] for e in expected]
    for ours, theirs in zip(got, expected):
        assert set(ours) == set(theirs)  # the same record, no more (top_k 1, no explain)
        assert _same_probabilities(ours["probabilities"], theirs["probabilities"])
        assert abs(ours["probability"] - theirs["probability"]) <= 1e-6


def test_top_k_lists_the_most_likely_labels_as_predict_does(server, tiny_run):
    expected = _predict_json(tiny_run, TEXTS[:3], "--top-k", "2")
    got = _post(server.url, {"texts": TEXTS[:3], "top_k": 2}).json()["predictions"]
    for ours, theirs in zip(got, expected):
        assert [t["label"] for t in ours["top"]] == [t["label"] for t in theirs["top"]]
        assert all(
            abs(a["probability"] - b["probability"]) <= 1e-6 for a, b in zip(ours["top"], theirs["top"])
        )
    # More than there are labels is every label, ranked, as for --top-k.
    everything = _post(server.url, {"texts": ["good"], "top_k": 99}).json()["predictions"][0]["top"]
    assert sorted(t["label"] for t in everything) == ["alpha", "beta", "gamma"]
    assert [t["probability"] for t in everything] == sorted(
        (t["probability"] for t in everything), reverse=True
    )


def test_explain_gives_the_weights_of_predict_explain_json(server, tiny_run):
    texts = ["good film naïve bad", "café, 日本 and 😀 good", "nothing known"]
    expected = _predict_json(tiny_run, texts, "--explain")
    got = _post(server.url, {"texts": texts, "explain": True}).json()["predictions"]
    for text, ours, theirs in zip(texts, got, expected):
        assert ours["label"] == theirs["label"] and ours["method"] == theirs["method"] == "occlusion"
        assert [w for w, _ in ours["weights"]] == [w for w, _ in theirs["weights"]]
        assert all(abs(a[1] - b[1]) <= 1e-6 for a, b in zip(ours["weights"], theirs["weights"]))
        # Offsets count characters, so they find each word in the text, emoji or not.
        assert [text[start:end] for start, end in ours["offsets"]] == [w for w, _ in ours["weights"]]


@pytest.mark.slow
def test_an_attention_run_trained_here_explains_as_the_cli_does(tiny_csv, tmp_path):
    # Attention weights come from the Keras model (TensorFlow), on the server's model thread.
    run = tmp_path / "attention"
    trained = run_cli(
        "train", str(tiny_csv), "--arch", "attention", "--attention", "pool", "--epochs", "2",
        "--maxlen", "12", "--num-words", "40", "--embedding-dim", "8", "--units", "8", "--seed", "0",
        "--no-plot", "--out", str(run), env={"RNNCLI_RUNS": str(tmp_path / "runs")},
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr.decode()
    texts = ["good film great w3", "bad film awful", "great"]
    expected = _predict_json(run, texts, "--explain")
    with serving(run, tmp_path) as served:
        answer = _post(served.url, {"texts": texts, "explain": True, "top_k": 2})
        assert answer.status_code == 200, answer.text
        about = httpx.get(f"{served.url}/metadata", timeout=10).json()
    assert about["test_metrics"]["test_accuracy"] is not None and about["architecture"] == "attention"
    for ours, theirs in zip(answer.json()["predictions"], expected):
        assert ours["label"] == theirs["label"] and ours["method"] == theirs["method"] == "attention"
        assert [w for w, _ in ours["weights"]] == [w for w, _ in theirs["weights"]]
        assert all(abs(a[1] - b[1]) <= 1e-6 for a, b in zip(ours["weights"], theirs["weights"]))
        assert [t["label"] for t in ours["top"]][0] == ours["label"]


# --- bad requests -----------------------------------------------------------------------------

BAD_REQUESTS = [
    ("malformed JSON", b'{"texts": [', 400, "not valid JSON"),
    ("empty body", b"", 400, "the body is empty"),
    ("not UTF-8", b'{"texts": ["caf\xe9"]}', 400, "not valid UTF-8"),
    ("UTF-16", '{"texts": ["a"]}'.encode("utf-16"), 400, "not valid UTF-8"),
    ("nested too deeply", b"[" * 30_000, 400, "nested too deeply"),
    ("a number of 5000 digits", b'{"texts": ["a"], "top_k": 1' + b"0" * 5000 + b"}", 400, "not usable JSON"),
    ("not an object", b'["good film"]', 422, "must be a JSON object"),
    ("texts missing", b'{"top_k": 2}', 422, "texts is missing"),
    ("texts empty", b'{"texts": []}', 422, "texts is empty"),
    ("texts a string", b'{"texts": "good film"}', 422, "texts: Input should be a valid list"),
    ("a text not a string", b'{"texts": ["good", 7]}', 422, "texts[1]"),
    ("null text", b'{"texts": [null]}', 422, "texts[0]"),
    ("top_k zero", b'{"texts": ["a"], "top_k": 0}', 422, "top_k"),
    ("top_k a string", b'{"texts": ["a"], "top_k": "2"}', 422, "top_k"),
    ("top_k a float", b'{"texts": ["a"], "top_k": 2.5}', 422, "top_k"),
    ("explain a string", b'{"texts": ["a"], "explain": "yes"}', 422, "explain"),
    ("unknown field", b'{"texts": ["a"], "topk": 2}', 422, "unknown field 'topk'"),
    ("lone surrogate", b'{"texts": ["\\ud800 film"]}', 422, "lone surrogate"),
    ("too many texts", json.dumps({"texts": ["a"] * 51}).encode(), 422, "limit of 50 per request"),
    (
        "body over the limit",
        json.dumps({"texts": ["good film " * 8000]}).encode(),
        413,
        "limit of 64,000 bytes",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "reason"), [c[1:] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS]
)
def test_a_bad_request_is_a_4xx_with_a_one_line_reason(server, body, status, reason):
    answer = httpx.post(
        f"{server.url}/predict", content=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert reason in error and "\n" not in error and len(error) < 200, error
    _assert_still_serving(server.url)


def test_a_streamed_body_over_the_limit_is_413_before_it_ends(server):
    def chunks():  # no Content-Length: the server can only count as the body comes
        yield b'{"texts": ["'
        for _ in range(200):
            yield b"x" * 1000
        yield b'"]}'

    answer = httpx.post(f"{server.url}/predict", content=chunks(), timeout=30)
    assert answer.status_code == 413 and "--max-body" in answer.json()["error"]
    _assert_still_serving(server.url)


def test_wrong_methods_and_paths_are_one_line_too(server):
    wrong_method = httpx.get(f"{server.url}/predict", timeout=10)
    assert wrong_method.status_code == 405 and wrong_method.json() == {
        "error": "GET is not allowed on /predict; use POST"
    }
    missing = httpx.post(f"{server.url}/predictions", json={"texts": ["a"]}, timeout=10)
    assert missing.status_code == 404 and "no such endpoint: POST /predictions" in missing.json()["error"]


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_requests_share_model_calls_and_each_gets_its_own_answers_in_order(server):
    reference = {p["text"]: p for p in _post(server.url, {"texts": TEXTS}).json()["predictions"]}
    before = httpx.get(f"{server.url}/health", timeout=10).json()
    requests = [[TEXTS[(i + j) % len(TEXTS)] for j in range(1 + i % 5)] for i in range(32)]
    answers: list[httpx.Response | BaseException | None] = [None] * len(requests)
    barrier = threading.Barrier(len(requests))

    def ask(i: int) -> None:
        try:
            with httpx.Client(timeout=60) as client:
                barrier.wait(timeout=30)
                answers[i] = client.post(f"{server.url}/predict", json={"texts": requests[i]})
        except BaseException as exc:  # noqa: BLE001 - reported below
            answers[i] = exc

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    for texts, answer in zip(requests, answers):
        assert isinstance(answer, httpx.Response) and answer.status_code == 200, answer
        got = answer.json()["predictions"]
        assert [p["text"] for p in got] == texts
        for p in got:
            assert p["label"] == reference[p["text"]]["label"]
            assert _same_probabilities(p["probabilities"], reference[p["text"]]["probabilities"])
    after = httpx.get(f"{server.url}/health", timeout=10).json()
    assert after["requests"] - before["requests"] == len(requests)
    assert after["texts"] - before["texts"] == sum(map(len, requests))
    # Requests arriving within the 50 ms window shared model calls.
    assert after["batches"] - before["batches"] < len(requests), (before, after)


def test_sigterm_lets_the_requests_in_flight_finish_then_exits_0(tiny_run, tmp_path):
    # A batching window of a second: the requests are sure to be waiting when SIGTERM comes.
    with serving(tiny_run, tmp_path, "--batch-wait-ms", "1000") as served:
        answers: list[object] = [None] * 6
        answered_at = [0.0] * len(answers)
        sent = [threading.Event() for _ in answers]

        def ask(i: int) -> None:
            try:
                with httpx.Client(timeout=60) as client:
                    sent[i].set()
                    answers[i] = client.post(f"{served.url}/predict", json={"texts": TEXTS[: i + 1]})
            except BaseException as exc:  # noqa: BLE001 - reported below
                answers[i] = exc
                sent[i].set()
            answered_at[i] = time.monotonic()

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(answers))]
        for thread in threads:
            thread.start()
        assert all(event.wait(timeout=30) for event in sent)
        time.sleep(0.3)
        stopped_at = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=60)
        assert served.process.wait(timeout=60) == 0, served.log()
        for i, answer in enumerate(answers):
            assert isinstance(answer, httpx.Response) and answer.status_code == 200, answer
            assert [p["text"] for p in answer.json()["predictions"]] == TEXTS[: i + 1]
        assert min(answered_at) > stopped_at  # they were in flight when the signal came
        log = served.log()
        assert "Traceback" not in log and log.count('"POST /predict HTTP/1.1" 200') == len(answers), log
        with pytest.raises(httpx.TransportError):  # nothing listens any more
            httpx.get(f"{served.url}/health", timeout=5)


# --- the other endpoints ----------------------------------------------------------------------


def test_health_ready_metadata_and_docs(server, tiny_run):
    health = httpx.get(f"{server.url}/health", timeout=10).json()
    assert health["status"] == "ok" and health["uptime_s"] > 0
    assert httpx.get(f"{server.url}/ready", timeout=10).json() == {"ready": True, "run": tiny_run.name}
    about = httpx.get(f"{server.url}/metadata", timeout=10).json()
    assert about["run"] == str(tiny_run.resolve()) and about["dataset"] == "tiny"
    assert about["architecture"] == "lstm" and about["labels"] == ["alpha", "beta", "gamma"]
    assert about["inference"] == "litert" and about["test_metrics"] is None  # the fixture was not tested
    assert about["precision"] == "float"  # the fixture has no int8 export
    assert about["rnncli_version"] == __import__("rnncli").__version__
    assert about["serving"] == {"max_body": 64_000, "max_texts": 50, "batch_size": 256, "batch_wait_ms": 50.0}
    docs = httpx.get(f"{server.url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"texts", "top_k", "explain"} and body["required"] == ["texts"]
    assert {"/health", "/ready", "/metadata"} <= set(schema["paths"])


def test_the_page_is_one_self_contained_document(server):
    page = httpx.get(f"{server.url}/", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    # Nothing fetched from anywhere else: no CDN, no fonts, no external script or style.
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert "<script src" not in html and 'rel="stylesheet"' not in html and "@import" not in html
    assert 'fetch("predict"' in html and "URLSearchParams" in html


def test_one_access_log_line_per_request_on_stderr(server):
    marker = f"/log-{time.monotonic_ns()}"
    for _ in range(3):
        httpx.get(f"{server.url}{marker}?text=private", timeout=10)
    deadline = time.monotonic() + 10
    while server.log().count(marker) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [line for line in server.log().splitlines() if marker in line]
    assert len(lines) == 3
    for line in lines:
        match = ACCESS_LINE.match(line)
        assert match and match.group(2) == marker and match.group(3) == "404", line
        assert "private" not in line  # the query string (the page's ?text=) is not logged
    assert "Traceback" not in server.log()


def test_a_server_keeps_its_run_when_a_newer_one_appears(tiny_run, tmp_path):
    root = tmp_path / "runs"
    first = root / "first"
    shutil.copytree(tiny_run, first)
    env = {"RNNCLI_RUNS": str(root)}
    (root / runs.LATEST).write_text(f"{first.resolve()}\n")
    with serving(None, tmp_path, env=env) as served:
        newer = root / "newer"
        shutil.copytree(tiny_run, newer)
        config = json.loads((newer / runs.CONFIG).read_text())
        runs.write_json(newer / runs.CONFIG, {**config, "label_names": ["x", "y", "z"]})
        (root / runs.LATEST).write_text(f"{newer.resolve()}\n")
        about = httpx.get(f"{served.url}/metadata", timeout=10).json()
        assert about["run"] == str(first.resolve()) and about["labels"] == ["alpha", "beta", "gamma"]
        assert _post(served.url, {"texts": ["good"]}).json()["predictions"][0]["label"] in about["labels"]


# --- refusing to start ------------------------------------------------------------------------


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    err = result.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("rnncli: error: ") and "Traceback" not in err, err
    return err


def test_a_bad_run_is_one_error_line_and_exit_1(tmp_path):
    result = run_cli("serve", "--model", str(tmp_path / "nowhere"), "--port", "0", timeout=120)
    assert result.returncode == 1 and "does not exist" in _one_error_line(result)
    assert result.stdout == b""


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--port", "70000", "--port must be from 0 to 65535"),
        ("--max-body", "12XB", "--max-body must be a size"),
        ("--max-body", "0", "--max-body must be at least 1 byte"),
        ("--max-texts", "0", "--max-texts must be at least 1"),
        ("--batch-size", "0", "--batch-size must be at least 1"),
        ("--batch-wait-ms", "5000", "--batch-wait-ms must be from 0 to 1000"),
        ("--precision", "half", "--precision must be auto or float"),
    ],
)
def test_bad_options_are_usage_errors(tiny_run, option, value, message):
    result = run_cli("serve", "--model", str(tiny_run), option, value, timeout=120)
    assert result.returncode == 2 and message in _one_error_line(result)


def test_a_port_in_use_is_one_error_line(tiny_run):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--model", str(tiny_run), "--port", str(port), timeout=120)
    assert result.returncode == 1 and f"cannot listen on 127.0.0.1 port {port}" in _one_error_line(result)


def test_without_fastapi_one_line_says_how_to_install_it(tiny_run, tmp_path):
    shadow = tmp_path / "shadow" / "fastapi"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named fastapi')\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(shadow.parent), os.environ.get("PYTHONPATH")]))}
    result = run_cli("serve", "--model", str(tiny_run), "--port", "0", env=env, timeout=120)
    assert result.returncode == 1
    err = _one_error_line(result)
    assert err == f"rnncli: error: {MISSING}\n"
    assert MISSING == 'serving needs FastAPI and uvicorn; install them with: pip install "rnncli[serve]"'


def test_help_loads_no_server_packages():
    heavy = "{'fastapi', 'uvicorn', 'pydantic', 'starlette'}"
    code = f"import sys, rnncli.cli; print(sorted({heavy} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.stdout.decode().strip() == "[]", result.stderr.decode()
    usage = run_cli("serve", "--help", timeout=60)
    assert usage.returncode == 0 and b"--max-body" in usage.stdout and b"--batch-wait-ms" in usage.stdout


# --- the batcher on its own -------------------------------------------------------------------


def test_the_batcher_answers_each_request_in_order_on_one_thread_one_call_at_a_time():
    from rnncli.serving.batcher import Batcher

    threads, active, calls = set(), [0], []

    def shout(texts: list[str]) -> list[str]:
        active[0] += 1
        assert active[0] == 1, "two model calls at once"
        threads.add(threading.get_ident())
        calls.append(len(texts))
        if "boom" in texts:
            active[0] -= 1
            raise ValueError("boom")
        time.sleep(0.01)
        active[0] -= 1
        return [text.upper() for text in texts]

    async def main():
        batcher = Batcher(shout, max_texts=8, max_wait=0.02)
        batcher.start()
        requests = [[f"r{i}t{j}" for j in range(1 + i % 3)] for i in range(20)] + [["ok", "boom"]]
        answers = await asyncio.gather(*(batcher.submit(r) for r in requests), return_exceptions=True)
        await batcher.close()
        return requests, answers, batcher

    requests, answers, batcher = asyncio.run(main())
    for request, answer in zip(requests[:-1], answers[:-1]):
        assert answer == [text.upper() for text in request]
    assert isinstance(answers[-1], ValueError)  # only the request holding the bad text fails
    assert len(threads) == 1 and threading.get_ident() not in threads
    assert max(calls) <= 8 and batcher.counters.batches < len(requests)
    assert batcher.counters.texts == sum(map(len, requests[:-1]))


def test_a_closed_batcher_refuses_new_work():
    from rnncli.serving.batcher import Batcher, ShuttingDown

    async def main():
        batcher = Batcher(lambda texts: texts)
        batcher.start()
        assert await batcher.submit(["a"]) == ["a"]
        await batcher.close()
        with pytest.raises(ShuttingDown):
            await batcher.submit(["b"])

    asyncio.run(main())


# --- the page, in a real browser --------------------------------------------------------------


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _browser(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Headless Chromium with its profile, cache and home in `tmp_path`."""
    home = tmp_path / "browser"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "XDG_CACHE_HOME": str(home)}
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        f"--user-data-dir={home / 'profile'}", "--virtual-time-budget=10000", *arguments,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, env=env, timeout=120)


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary found (apt-get install chromium)")
def test_the_page_shows_the_label_and_shades_the_words_in_a_real_browser(server, tmp_path):
    text = "good film, naïve café 日本 bad"
    expected = _post(server.url, {"texts": [text], "explain": True}).json()["predictions"][0]
    page = f"{server.url}/?text={quote(text)}"
    dom = _browser(tmp_path, "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr.decode()[-2000:]
    html = dom.stdout.decode()
    assert 'data-state="done"' in html, html[-3000:]
    assert f'<span id="label">{expected["label"]}</span>' in html
    assert "tiny · lstm" in html  # the run, from /metadata
    words = re.findall(
        r'<span class="w" data-weight="([^"]+)"[^>]*style="background-color: ([^"]*)">([^<]*)</span>', html
    )
    assert [w for _, _, w in words] == [w for w, _ in expected["weights"]]
    for weight, background, _ in words:
        assert (float(weight) != 0) == background.startswith("rgba("), (weight, background)
    shot = tmp_path / "page.png"
    picture = _browser(tmp_path, "--hide-scrollbars", "--window-size=900,720", f"--screenshot={shot}", page)
    assert picture.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary found (apt-get install chromium)")
def test_the_page_shows_a_refusal_in_one_line(tiny_run, tmp_path):
    with serving(tiny_run, tmp_path, "--max-body", "1KB") as served:
        html = _browser(tmp_path, "--dump-dom", f"{served.url}/?text={quote('x' * 2000)}").stdout.decode()
    assert 'data-state="error"' in html, html[-3000:]
    assert re.search(r'<p id="error" role="alert">the body is over [^<]*--max-body[^<]*</p>', html), html[
        -3000:
    ]
