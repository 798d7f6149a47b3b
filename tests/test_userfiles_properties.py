"""Property-based: whatever a user's file or folder holds, loading it gives a corpus or one
rnncli error (DataError or UsageError) of one line, never another exception.

In-process and small (about 150 examples each) so the whole file takes seconds; two CLI
subprocess checks at the end show that such an error is one stderr line and exit 1 or 2.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rnncli.data import userfiles
from rnncli.data.corpus import EncodedCorpus, stratified_split
from rnncli.data.usersource import UserSource
from rnncli.errors import DataError, UsageError
from rnncli.progress import RecordingReporter
from rnncli.text import Encoder, Vocabulary, tokenize
from tests.conftest import run_cli

FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

ENCODINGS = (
    "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "shift_jis",
    "utf-7", "idna", "punycode", "unicode_escape", "raw_unicode_escape", "ascii", "rot13", "base64",
)  # fmt: skip
WEIRD_LABELS = (
    "pos", "neg", "Pos", " pos ", "1", "01", "0", "-0", "+1", "true", "1.0", "", " ", "\t",
    "é", "e\u0301", "a,b", 'q"uote', "tab\there", "new\nline", "\ufeff", "\x00", "9" * 5000,
)  # fmt: skip
WEIRD_TEXTS = ("", "a,b", '"', '""', "\r\n", "\r", "\x00", "\ufeff", "\u2028", "x" * 140_000, "{")


def _check(source: UserSource, seed: int = 0) -> EncodedCorpus | None:
    """Load; a corpus must be sound, an error must be ours and one line."""
    reporter = RecordingReporter()
    try:
        corpus = userfiles.load(source, seed, reporter)
    except (DataError, UsageError) as exc:
        message = str(exc)
        for path in filter(None, (source.path, source.test_path)):
            message = message.replace(path, "PATH")
        assert message and "\n" not in message and "\r" not in message, message
        return None
    names = corpus.label_names
    assert len(names) >= 2 and list(names) == userfiles.label_order(names)
    assert len(corpus.train) >= 1 and len(corpus.test) >= 1
    assert len(corpus.train) == len(corpus.train_labels) and len(corpus.test) == len(corpus.test_labels)
    for labels in (corpus.train_labels, corpus.test_labels):
        assert labels.min() >= 0 and labels.max() < len(names)
    assert len(set(corpus.vocabulary.words)) == len(corpus.vocabulary.words)
    for warning in reporter.warnings:
        assert "\n" not in warning.replace(source.path, "PATH")
    return corpus


def _in_tmp(name: str, data: bytes, **options) -> EncodedCorpus | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return _check(UserSource(str(path), **options))


def _encode(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding, errors="replace")
    except (UnicodeError, LookupError, TypeError):
        return text.encode("utf-8", errors="surrogatepass")


@st.composite
def _mutated(draw, data: bytes) -> bytes:
    """`data` as is, or with a few bytes replaced, inserted or cut off."""
    how = draw(st.sampled_from(["keep", "keep", "flip", "insert", "truncate"]))
    if how == "keep" or not data:
        return data
    rng = random.Random(draw(st.integers(0, 2**32)))
    buffer = bytearray(data)
    if how == "truncate":
        return bytes(buffer[: rng.randrange(len(buffer))])
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(buffer) + 1)
        byte = rng.choice(b'\x00\xff\xfe\n\r",\t{}\\\x80\xc3')
        if how == "flip" and at < len(buffer):
            buffer[at] = byte
        else:
            buffer.insert(at, byte)
    return bytes(buffer)


_labels = st.one_of(st.sampled_from(WEIRD_LABELS), st.text(max_size=6))
_texts = st.one_of(st.text(max_size=40), st.sampled_from(WEIRD_TEXTS))
_splits = st.one_of(st.sampled_from([0.001, 0.2, 0.5, 0.999]), st.floats(0.01, 0.99))


@st.composite
def delimited_files(draw) -> tuple[str, bytes, dict]:
    kind = draw(st.sampled_from(["csv", "tsv", ""]))
    delimiter = draw(st.sampled_from(["\t", ","])) if kind == "" else ("\t" if kind == "tsv" else ",")
    header = draw(
        st.one_of(
            st.sampled_from(
                [
                    ["text", "label"],
                    ["label", "text", "id"],
                    [" text ", "label "],
                    ["txt", "label"],
                    ["text"],
                    [],
                ]
            ),
            st.lists(st.one_of(st.text(max_size=5), st.just("a\nb"), st.just("x" * 500)), max_size=4),
        )
    )
    rows = []
    for _ in range(draw(st.integers(0, 30))):
        text, label = draw(_texts), draw(_labels)
        row = [text, label]
        if draw(st.integers(0, 9)) == 0:  # a field too many or too few
            row = row + [draw(_texts)] if draw(st.booleans()) else row[:1]
        elif len(header) == 3:
            row = [label, text, "7"]
        rows.append(row)
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE, csv.QUOTE_NONNUMERIC]))
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=delimiter,
        quoting=quoting,
        escapechar="\\" if quoting == csv.QUOTE_NONE else None,
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
    )
    if header:
        try:
            writer.writerow(header)
        except csv.Error:  # e.g. one empty field, which QUOTE_NONE cannot write: write it raw
            out.write(delimiter.join(header) + "\n")
    for row in rows:
        try:
            writer.writerow(row)
        except csv.Error:  # what csv cannot write under this quoting: write it raw
            out.write(delimiter.join(row) + "\n")
        if draw(st.integers(0, 9)) == 0:
            out.write("\n")
    encoding = draw(st.sampled_from(ENCODINGS))
    data = _encode(out.getvalue(), encoding)
    if draw(st.booleans()):
        data = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b""])) + data
    options = {"encoding": draw(st.sampled_from([encoding, encoding, "utf-8", "latin-1", "rot13"]))}
    options["test_split"] = draw(_splits)
    return f"data.{kind}" if kind else "data", draw(_mutated(data)), options


@FAST
@given(delimited_files())
def test_any_csv_or_tsv_gives_a_corpus_or_one_rnncli_error(case):
    name, data, options = case
    _in_tmp(name, data, **options)


_json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=10),
        st.sampled_from(WEIRD_LABELS),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def jsonl_files(draw) -> tuple[str, bytes, dict]:
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        choice = draw(st.integers(0, 19))
        if choice == 0:
            lines.append(
                draw(st.sampled_from(["", "  ", "[1]", "{", "nul", '{"text": 1e999999}', "[" * 5000]))
            )
            continue
        record = {"text": draw(_texts), "label": draw(_json_values if choice < 6 else _labels)}
        if choice == 1:
            record.pop(draw(st.sampled_from(["text", "label"])))
        if choice == 2:
            record[draw(st.text(max_size=8))] = draw(_json_values)
        line = json.dumps(record, ensure_ascii=draw(st.booleans()), allow_nan=True)
        if choice == 3:
            line = line.replace("0", "9" * 5000, 1)  # integers past int()'s digit limit
        lines.append(line)
    encoding = draw(st.sampled_from(ENCODINGS))
    data = _encode("\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"])), encoding)
    options = {"encoding": draw(st.sampled_from([encoding, encoding, "utf-8"])), "test_split": draw(_splits)}
    return draw(st.sampled_from(["data.jsonl", "data.ndjson", "data"])), draw(_mutated(data)), options


@FAST
@given(jsonl_files())
def test_any_json_lines_give_a_corpus_or_one_rnncli_error(case):
    name, data, options = case
    _in_tmp(name, data, **options)


@FAST
@given(
    st.sampled_from(["d.csv", "d.tsv", "d.jsonl", "d"]),
    st.binary(max_size=400),
    st.sampled_from(ENCODINGS),
    _splits,
)
def test_arbitrary_bytes_give_a_corpus_or_one_rnncli_error(name, data, encoding, split):
    _in_tmp(name, data, encoding=encoding, test_split=split)


_names = st.sampled_from(["pos", "neg", "Pos", ".hidden", "1", "01", " pad", "x.txt", "sub", "é"])


@st.composite
def folders(draw) -> list[tuple[str, str, bytes]]:
    """Entries `(kind, relative path, content)`: files, links, FIFOs, nested folders."""
    entries = []
    for _ in range(draw(st.integers(0, 14))):
        parts = draw(st.lists(_names, min_size=1, max_size=3))
        leaf = draw(st.sampled_from(["a.txt", "b.txt", ".c.txt", "d.md", "e.TXT", "f.txt"]))
        kind = draw(st.sampled_from(["file"] * 6 + ["link-out", "link-in", "fifo", "dir"]))
        content = draw(st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode)))
        entries.append((kind, "/".join([*parts, leaf]), content))
    return entries


@settings(FAST, max_examples=80)
@given(folders(), st.sampled_from(["utf-8", "latin-1", "utf-16", "idna"]), _splits, st.booleans())
def test_any_folder_gives_a_corpus_or_one_rnncli_error(entries, encoding, split, acl_layout):
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "outside.txt").write_text("secret outside words")
        root = base / "data"
        for kind, relative, content in entries:
            if acl_layout:
                relative = f"{'train' if len(content) % 3 else 'test'}/{relative}"
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() or path.is_symlink():
                continue
            if kind == "file":
                path.write_bytes(content)
            elif kind == "link-out":
                path.symlink_to(base / "outside.txt")
            elif kind == "link-in":
                path.symlink_to(root)
            elif kind == "fifo":
                os.mkfifo(path)
            else:
                path.mkdir()
        root.mkdir(exist_ok=True)
        corpus = _check(UserSource(str(root), encoding=encoding, test_split=split))
        if corpus is not None:
            assert "outside" not in corpus.vocabulary.words


@st.composite
def well_formed(draw) -> tuple[list[tuple[str, str]], float, int]:
    alphabet = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
    words = st.sampled_from(["good", "bad", "film", "영화", "the", "a", "été", "don't"])
    text = st.one_of(st.lists(words, max_size=6).map(" ".join), st.text(alphabet, max_size=12))
    labels = st.sampled_from(["pos", "neg", "mixed", "10", "2"])
    rows = draw(st.lists(st.tuples(text, labels), min_size=2, max_size=40))
    return rows, draw(st.floats(0.05, 0.6)), draw(st.integers(0, 10))


@FAST
@given(well_formed())
def test_the_vocabulary_and_ids_come_from_the_training_rows_alone(case):
    """What any well-formed CSV must give: labels in label order, the seeded stratified split,
    and a vocabulary ranked over the training rows only, ties by first appearance there."""
    rows, split, seed = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
        corpus = _check(UserSource(str(path), test_split=split), seed)
    names = userfiles.label_order({label for _, label in rows})
    labels = np.array([names.index(label) for _, label in rows])
    train_rows, test_rows = stratified_split(labels, split, seed)
    assume(len(names) >= 2 and len(test_rows) and len(train_rows))
    assume(len(set(labels[train_rows])) == len(names))
    assert corpus is not None and list(corpus.label_names) == names
    tokens = [tokenize(text) for text, _ in rows]
    vocabulary = Vocabulary.build([tokens[i] for i in train_rows])
    assert corpus.vocabulary.words == vocabulary.words
    encoder = Encoder(vocabulary, len(vocabulary.words) + 4)
    assert [corpus.train[i].tolist() for i in range(len(corpus.train))] == [
        encoder.encode_tokens(tokens[i]) for i in train_rows
    ]
    assert [corpus.test[i].tolist() for i in range(len(corpus.test))] == [
        encoder.encode_tokens(tokens[i]) for i in test_rows
    ]
    assert corpus.train_labels.tolist() == labels[train_rows].tolist()


@pytest.mark.parametrize(
    "name, content, args, message, code",
    [
        (
            "bad.csv",
            b"text,label\ngood,pos\nwhat a film, really,neg\n",
            [],
            "line 3: 3 fields, expected 2",
            1,
        ),
        ("deep.jsonl", b"[" * 100_000 + b"\n", [], "line 1: malformed JSON", 1),
        ("ok.csv", b"text,label\na,x\nb,y\n", ["--encoding", "rot13"], "'rot13' is not a text encoding", 2),
        ("ok.csv", b"text,label\na,x\nb,y\n", ["--test-split", "0.001"], "holds out none of the 2 texts", 2),
        (
            "ok.csv",
            b"text,label\na,x\nb,y\n",
            ["--test-split", "0.5"],
            "leaves class 'x' of ok.csv no training",
            2,
        ),
    ],
)
def test_a_bad_file_is_one_line_on_stderr_and_exit_1_or_2(tmp_path, name, content, args, message, code):
    path = tmp_path / name
    path.write_bytes(content)
    result = run_cli("train", str(path), *args, env={"RNNCLI_RUNS": str(tmp_path / "runs")})
    err = result.stderr.decode().strip()
    assert result.returncode == code and err.startswith("rnncli: error:") and "\n" not in err, err
    assert message in err
