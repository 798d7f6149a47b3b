"""Damaged bookkeeping stays local to its run: refused with one line, or skipped with a warning.

Whatever happens to one file of a run directory (truncated, garbled, replaced by other JSON),
finding, opening and loading runs either works or raises one of our errors, and never writes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnncli import runs
from rnncli.errors import RnncliError, RunError
from rnncli.inference import LITERT_FILE
from rnncli.predict import Predictor

DAMAGED_STATUSES = [
    b"",
    b'{"state": "comp',
    b"\xff\xfe not utf-8",
    b"[1, 2]",
    b'"complete"',
    b"{}",
    b'{"state": 7}',
    b'{"state": "finished"}',
    b'{"state": "complete", "updated": "yesterday"}',
    b'{"state": "complete", "updated": null}',
    b'{"state": "complete", "updated": NaN}',
    b'{"state": "complete", "updated": true}',
    b'{"state": "complete", "updated": 1' + b"0" * 400 + b"}",
    b"[" * 100_000,
]


def _complete(path: Path, when: float | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    runs.write_json(path / runs.CONFIG, {"label_names": ["a", "b"], "model": {}, "dataset": "imdb"})
    (path / runs.MODEL).write_bytes(b"x")
    (path / runs.VOCAB).write_text("{}")
    runs.set_status(path, runs.COMPLETE)
    if when is not None:
        runs.write_json(path / runs.STATUS, {"state": runs.COMPLETE, "updated": when})
    return path


@pytest.mark.parametrize("content", DAMAGED_STATUSES)
def test_read_status_refuses_a_damaged_status_and_status_stays_lenient(tmp_path, content):
    run = _complete(tmp_path / "run")
    (run / runs.STATUS).write_bytes(content)
    with pytest.raises(RunError, match="status.json is damaged") as info:
        runs.read_status(run)
    assert info.value.hint and "\n" not in str(info.value)
    assert runs.status(run) == {"state": "unknown"}
    with pytest.raises(RunError, match="status.json is damaged"):
        runs.open_run(run)


def test_read_status_of_a_run_without_one_is_empty_and_a_good_one_is_returned(tmp_path):
    assert runs.read_status(tmp_path) == {}
    with pytest.raises(RunError, match="not a run directory"):
        runs.open_run(tmp_path)
    run = _complete(tmp_path / "run", when=12.5)
    assert runs.read_status(run) == {"state": "complete", "updated": 12.5}
    runs.set_status(run, runs.FAILED, reason="x")
    assert runs.read_status(run)["state"] == runs.FAILED


@pytest.mark.parametrize("content", DAMAGED_STATUSES)
def test_latest_skips_a_run_with_a_damaged_status_with_a_warning(runs_dir, content):
    good = _complete(runs_dir / "good", when=100.0)
    bad = _complete(runs_dir / "bad", when=200.0)  # newer: it would win if it were readable
    (bad / runs.STATUS).write_bytes(content)
    warnings: list[str] = []
    assert runs.latest(warnings.append) == good
    assert len(warnings) == 1 and str(bad) in warnings[0] and "damaged" in warnings[0]
    assert runs.open_run(None).path == good


@pytest.mark.parametrize(
    "pointer", [b"\xff\xfe\x00garbage", b"/no/such/run\n", b"", b"\x00", b"a" * 5000, b"\n\n"]
)
def test_a_damaged_latest_pointer_falls_back_to_the_scan(runs_dir, pointer):
    good = _complete(runs_dir / "good")
    (runs_dir / runs.LATEST).write_bytes(pointer)
    warnings: list[str] = []
    assert runs.latest(warnings.append) == good
    assert all("LATEST" in warning for warning in warnings)
    assert (runs_dir / runs.LATEST).read_bytes() == pointer


def test_damaged_bookkeeping_elsewhere_does_not_stop_predict(cli, runs_dir, tiny_run):
    """Through the real CLI: before, both damages made every `predict` fail ("unexpected")."""
    good = runs_dir / "good"
    shutil.copytree(tiny_run, good)
    bad = runs_dir / "bad"
    shutil.copytree(tiny_run, bad)
    runs.write_json(bad / runs.STATUS, {"state": "complete", "updated": "yesterday"})
    (runs_dir / runs.LATEST).write_bytes(b"\xff\xfe" + str(bad).encode() + b"\n")
    result = cli("predict", "good film", env={"RNNCLI_RUNS": str(runs_dir)})
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split("\t")[0] in {"alpha", "beta", "gamma"}
    explicit = cli("predict", "--model", str(bad), "good film")
    err = explicit.stderr.decode().strip()
    assert explicit.returncode == 1 and err.startswith("rnncli: error:") and "\n" not in err
    assert "status.json is damaged" in err


# --- Property-based: any one file of a complete run damaged -----------------------------------

FILES = [
    runs.CONFIG,
    runs.STATUS,
    runs.VOCAB,
    runs.MODEL,
    LITERT_FILE,
    runs.HISTORY,
    runs.METRICS,
    runs.LATEST,
]

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def damages(draw):
    """(file name, function from its bytes to the damaged bytes)."""
    name = draw(st.sampled_from(FILES))
    kind = draw(st.sampled_from(["truncate", "flip", "garbage", "json", "json-field"]))
    if kind == "truncate":
        fraction = draw(st.floats(0, 1, exclude_max=True))
        return name, kind, lambda data: data[: int(len(data) * fraction)]
    if kind == "flip":
        where, bits = draw(st.floats(0, 1, exclude_max=True)), draw(st.integers(1, 255))

        def flip(data: bytes) -> bytes:
            if not data:
                return b"\x80"
            changed = bytearray(data)
            changed[int(len(data) * where)] ^= bits
            return bytes(changed)

        return name, kind, flip
    if kind == "garbage":
        garbage = draw(st.binary(max_size=64))
        return name, kind, lambda data: garbage
    value = draw(JSON_VALUES)
    if kind == "json":
        return name, kind, lambda data: json.dumps(value).encode()
    key = draw(st.sampled_from(["state", "updated", "label_names", "model", "dataset", "words", "x"]))

    def set_field(data: bytes) -> bytes:
        try:
            payload = json.loads(data)
        except ValueError:
            return json.dumps({key: value}).encode()
        if isinstance(payload, dict):
            payload[key] = value
        return json.dumps(payload).encode()

    return name, kind, set_field


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _exercise(run: Path, warnings: list[str], keras_too: bool) -> None:
    """Everything predict and evaluate do with a run before reading input, and one answer.

    `predict` prefers the LiteRT export; `evaluate` loads `model.keras` (`keras_too`).
    """
    with contextlib.suppress(RunError):
        assert runs.latest(warnings.append) in (run, run.resolve())
    for target in (None, run):
        try:
            info = runs.open_run(target, warnings.append)
        except RnncliError:
            continue
        for prefer_litert in (True, False) if keras_too else (True,):
            try:
                answers = Predictor(info, prefer_litert=prefer_litert).predict(["good film", ""])
            except RnncliError:
                continue
            assert [a.label in info.label_names for a in answers] == [True, True]


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(damage=damages())
def test_any_damaged_file_is_refused_or_skipped_never_another_error_never_a_write(
    tmp_path, monkeypatch, tiny_run, damage
):
    name, _, change = damage
    root = tmp_path / uuid.uuid4().hex
    run = root / "run"
    shutil.copytree(tiny_run, run)
    runs.write_json(run / runs.HISTORY, {"epochs": [{"loss": 1.0, "val_loss": 1.1}]})
    runs.write_json(run / runs.METRICS, {"test_loss": 1.0, "test_accuracy": 0.5})
    monkeypatch.setenv("RNNCLI_RUNS", str(root))
    runs.mark_latest(run)
    target = root / runs.LATEST if name == runs.LATEST else run / name
    target.write_bytes(change(target.read_bytes()))
    before = _snapshot(root)
    warnings: list[str] = []
    _exercise(run, warnings, keras_too=name == runs.MODEL)
    assert _snapshot(root) == before
    assert all(isinstance(w, str) and "\n" not in w for w in warnings)
