"""Whatever a pipeline feeds predict: one answer per line, in order, the same every time.

Property-based (hypothesis) over arbitrary Unicode, control characters, NUL bytes, line
separators, right-to-left and combining characters, plus the pathological sizes by hand: a 1 MB
line and 100,000 empty lines. The library path is tested here in-process; `test_cli_faults.py`
sends the same kinds of input through the real `rnncli predict`.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnncli import predict, runs
from rnncli.errors import InputError, RunError
from rnncli.longlines import HEAD_CHARS, LINE_BYTES, LongLine
from rnncli.predict import Predictor, read_lines
from rnncli.text import Vocabulary
from tests.conftest import TINY_WORDS

# Any character UTF-8 can carry (no lone surrogates), biased towards the troublesome ones.
_AWKWARD = "\x00\x01\x07\x08\t\x0b\x0c\x1b\x1c\x7f\x85\u00a0\u200b\u200e\u200f\u2028\u2029\u202e\ufeff\ufffd"
_AWKWARD += "\u0301\u0308\u05d0\u05b7\u0627\u064b\U0001f600\U0001f1fa\U0001f1f8"
_CHAR = st.one_of(
    st.characters(blacklist_categories=("Cs",)),
    st.sampled_from(_AWKWARD),
)
_TEXT = st.one_of(
    st.text(_CHAR, max_size=60),
    st.lists(st.sampled_from(TINY_WORDS + tuple(_AWKWARD)), max_size=30).map(" ".join),
)
_LINE = _TEXT.map(lambda text: text.replace("\n", " "))


@pytest.fixture(scope="module")
def predictor(tiny_run) -> Predictor:
    return Predictor(runs.open_run(tiny_run))


def _stream(predictor: Predictor, texts, batch: int = predict.BATCH):
    return [p for chunk in predictor.stream(texts, batch) for p in chunk]


def _check(predictor: Predictor, texts: list[str], answers) -> None:
    assert [a.text for a in answers] == texts
    for answer in answers:
        assert answer.label in predictor.label_names
        values = list(answer.probabilities.values())
        assert all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values)
        assert sum(values) == pytest.approx(1.0, abs=1e-4)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(_LINE, max_size=20), crlf=st.booleans(), final_newline=st.booleans())
def test_read_lines_gives_exactly_one_text_per_line(lines, crlf, final_newline):
    ending = b"\r\n" if crlf else b"\n"
    data = ending.join(line.encode("utf-8") for line in lines)
    if lines and (final_newline or not lines[-1]):
        data += ending  # an empty last line exists only if terminated
    texts = list(read_lines(io.BytesIO(data), "stdin"))
    # An empty input is no lines; otherwise one text per line, line ends (\r\n too) removed.
    expected = [line.rstrip("\r") for line in lines] if data else []
    if expected:
        expected[0] = expected[0].removeprefix("\ufeff").rstrip("\r")
    assert texts == expected


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=200))
def test_read_lines_on_arbitrary_bytes_answers_or_names_the_line(data):
    try:
        texts = list(read_lines(io.BytesIO(data), "stdin"))
    except InputError as exc:
        assert "line" in str(exc) and "not valid UTF-8" in str(exc)
    else:
        assert len(texts) == len(io.BytesIO(data).readlines())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_TEXT, min_size=1, max_size=25), batch=st.integers(1, 9))
def test_stream_answers_every_text_once_in_order_and_the_same_every_time(predictor, texts, batch):
    answers = _stream(predictor, texts, batch)
    _check(predictor, texts, answers)
    again = _stream(predictor, list(reversed(texts)), batch=max(1, batch - 1))
    # Same input, same answer: neither the batch it lands in nor its neighbours matter.
    for answer, other in zip(answers, reversed(again)):
        assert answer.label == other.label
        for name, p in answer.probabilities.items():
            assert other.probabilities[name] == pytest.approx(p, abs=1e-6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_TEXT, min_size=2, max_size=25))
def test_a_batch_gets_the_ids_its_texts_get_one_by_one(predictor, texts):
    """Batches of a `words` run are encoded with NumPy (`rnncli.word_ids`), single texts not."""
    alone = np.concatenate([predictor.encode([text]) for text in texts])
    np.testing.assert_array_equal(predictor.encode(texts), alone)
    assert predictor._word_ids is not None


def test_a_one_megabyte_line_and_100000_empty_lines(predictor):
    big = ("שלום café e\u0301 \u202e" + "good bad\x00 " * 10) * 9000
    assert len(big.encode("utf-8")) > 1_000_000
    data = (big + "\n").encode("utf-8") + b"\n" * 100_000 + b"film\n"
    texts = read_lines(io.BytesIO(data), "stdin")
    count = 0
    first = last = None
    for chunk in predictor.stream(texts):
        for answer in chunk:
            first = first or answer
            last = answer
            count += 1
    assert count == 100_002
    assert first.text == big and last.text == "film"
    # The 1 MB line is read to its end: it answers as its last maxlen words do.
    assert first.probabilities == pytest.approx(predictor.predict([big[-2000:]])[0].probabilities, abs=1e-6)


def test_batches_stop_at_a_character_budget(monkeypatch):
    monkeypatch.setattr(predict, "BATCH_CHARS", 10)
    chunk, failure = predict._take(iter(["aaaa", "bbbb", "cccc", "dddd"]), 1024, predict.BATCH_CHARS)
    assert chunk == ["aaaa", "bbbb", "cccc"] and failure is None


def _tampered(tiny_run, tmp_path, keep_litert, **changes):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    if not keep_litert:
        (run / "model.tflite").unlink()
    config = json.loads((run / "config.json").read_text())
    words = changes.pop("words", None)
    config.update(changes.pop("config", {}))
    config["model"].update(changes)
    (run / "config.json").write_text(json.dumps(config))
    if words is not None:
        Vocabulary(words).save(run / "vocab.json")
    return run


@pytest.mark.parametrize("keep_litert", [True, False], ids=["litert", "keras"])
@pytest.mark.parametrize(
    "changes, message",
    [
        ({"num_words": 40, "words": tuple(f"w{i}" for i in range(30))}, "vocabulary size 16 disagrees"),
        ({"num_classes": 4, "config": {"label_names": list("abcd")}}, "lists 4 classes|says .* 4 classes"),
        ({"config": {"label_names": list("ab")}}, "2 label names but the model section says 3"),
        ({"config": {"label_names": list("aba")}}, "lists a label name twice: a, b, a"),
        ({"words": tuple(f"w{i}" for i in range(20))}, "vocabulary has 20 words, more than num_words 16"),
        ({"arch": "transformer"}, "config.json.*unknown architecture 'transformer'"),
    ],
    ids=["vocabulary", "classes", "labels", "repeated-label", "vocab-file", "architecture"],
)
def test_a_run_whose_parts_disagree_is_refused_naming_the_part(
    tiny_run, tmp_path, keep_litert, changes, message
):
    run = _tampered(tiny_run, tmp_path, keep_litert, **changes)
    with pytest.raises(RunError, match=message):
        Predictor(runs.open_run(run)).predict(["w1 w12 w13 good"])


# -- lines too long to hold -----------------------------------------------------------------------

_OVER = LINE_BYTES + 4096  # bytes: past the size read whole


@pytest.mark.parametrize(
    "line",
    [
        "good film " * (_OVER // 10) + "bad фильм",  # many tokens: only the last maxlen matter
        "good bad film " + "\x00 " * (_OVER // 2) + "café",  # few tokens far apart: START counts
        "x" * _OVER + " good",  # one giant token, then a word
        "שלום <b>good</b> don't 日本 " * (_OVER // 30) + "Σ\u0301 bad",
    ],
    ids=["many-words", "words-then-nul-bytes", "giant-token", "markup-and-scripts"],
)
def test_a_line_too_long_to_hold_answers_as_the_whole_line_does(predictor, line):
    data = line.encode("utf-8")
    assert len(data) > LINE_BYTES
    [read] = list(read_lines(io.BytesIO(b"\xef\xbb\xbf" + data + b"\r\n"), "stdin"))
    # Echoed as its beginning and an ellipsis; answered from its last tokens, exactly.
    assert isinstance(read, LongLine) and read == line[:HEAD_CHARS] + "\u2026"
    np.testing.assert_array_equal(predictor.encode([read]), predictor.encode([line]))
    [answer] = _stream(predictor, [read])
    assert answer.probabilities == predictor.predict([line])[0].probabilities


def _peak_rss_mb(tiny_run, stdin, feed: bytes | None = None, seconds: float | None = None):
    """Run `rnncli predict --model RUN -`; return its exit code, peak RSS (MB) and output.

    The peak is the kernel's high-water mark of the process after it started Python (VmHWM),
    polled while it runs: `ru_maxrss` would also count this test process's own memory, which
    the child shares between fork and exec.
    """
    command = [sys.executable, "-m", "rnncli", "predict", "--model", str(tiny_run), "-"]
    process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]

    def watch() -> None:
        while process.poll() is None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                status = Path(f"/proc/{process.pid}/status").read_text()
                peak[0] = max(peak[0], int(status.split("VmHWM:")[1].split()[0]))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    if feed is not None:

        def write() -> None:
            for start in range(0, len(feed), 1 << 20):
                process.stdin.write(feed[start : start + (1 << 20)])
            process.stdin.close()

        writer = threading.Thread(target=write)
        writer.start()
        out = process.stdout.read()
        writer.join()
    else:
        time.sleep(seconds)
        assert process.poll() is None, process.stderr.read().decode()  # still reading
        process.kill()
        out = b""
    err = process.stderr.read()
    process.wait()
    watcher.join()
    return process.returncode, peak[0] / 1024, out, err


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_memory_stays_bounded_on_a_huge_line_and_on_an_endless_one(tiny_run):
    # Before lines were streamed, a 24 MB line took about 600 MB and /dev/zero 250 MB a second.
    huge = b"good film " * 2_400_000 + b"bad\nlast\n"
    code, peak, out, err = _peak_rss_mb(tiny_run, subprocess.PIPE, feed=huge)
    assert code == 0 and err == b"" and out.count(b"\n") == 2, err.decode()
    assert peak < 200, f"{peak:.0f} MB for a 24 MB line"
    with open("/dev/zero", "rb") as zeros:
        code, peak, _, err = _peak_rss_mb(tiny_run, zeros, seconds=4)
    assert peak < 200, f"{peak:.0f} MB after 4 s of /dev/zero"


@pytest.mark.parametrize(
    "model, message",
    [
        ({"arch": "lstm"}, r"config.json: bad model section \(.*missing"),
        ({"units": [4]}, r"config.json: bad model section \(.*not supported between"),
        ({"colour": "red"}, r"config.json: bad model section \(.*unexpected keyword argument 'colour'"),
        ({"maxlen": 0}, "config.json: maxlen must be at least 1"),
    ],
    ids=["missing-keys", "wrong-type", "unknown-key", "invalid-value"],
)
def test_a_damaged_model_section_is_one_run_error_naming_the_file(tiny_run, tmp_path, model, message):
    from rnncli.predict import spec_of

    run = _tampered(tiny_run, tmp_path, keep_litert=True)
    config = json.loads((run / "config.json").read_text())
    config["model"] = model if "arch" in model else {**config["model"], **model}
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunError, match=message):
        spec_of(runs.open_run(run))
