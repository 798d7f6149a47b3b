"""Reading a user's own files: every format, and every kind of bad input with its line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

from rnncli.data import userfiles, userrows
from rnncli.data.corpus import stratified_split
from rnncli.data.usersource import UserSource, check_source
from rnncli.errors import DataError, UsageError
from rnncli.progress import RecordingReporter
from rnncli.text import Vocabulary, tokenize

ROWS = [("좋은 영화 정말 재미있다", "pos"), ("지루한 영화", "neg")] * 10 + [
    ('great, "quoted"\nmulti-line', "pos")
]


def _csv(path, rows=ROWS, header="text,label"):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write(header + "\n")
        writer = csv.writer(handle)
        for text, label in rows:
            writer.writerow([text, label])
    return path


def _load(path, **kwargs):
    return userfiles.load(UserSource(str(path), **kwargs), seed=0)


def test_csv_with_quotes_embedded_newlines_and_korean(tmp_path):
    corpus = _load(_csv(tmp_path / "d.csv"))
    assert corpus.label_names == ("neg", "pos")
    assert len(corpus.train) + len(corpus.test) == len(ROWS)
    assert len(corpus.test) == 4  # stratified 0.2 of 21
    assert "영화" in corpus.vocabulary.words


def test_tsv_jsonl_and_bom(tmp_path):
    tsv = tmp_path / "d.tsv"
    tsv.write_bytes(
        ("\ufefftext\tlabel\n" + "".join(f"word{i % 3} text\t{i % 2}\n" for i in range(20))).encode()
    )
    assert _load(tsv).label_names == ("0", "1")
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text(
        "".join(json.dumps({"body": f"t {i}", "y": ["a", "b", "c"][i % 3]}) + "\n" for i in range(30))
    )
    corpus = _load(jsonl, text_col="body", label_col="y")
    assert corpus.label_names == ("a", "b", "c")


def test_numeric_labels_sort_numerically(tmp_path):
    rows = [(f"t{i}", str(label)) for i, label in enumerate([2, 10, 1] * 5)]
    assert _load(_csv(tmp_path / "d.csv", rows)).label_names == ("1", "2", "10")


def test_folder_of_class_folders_and_train_test_layout(tmp_path):
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            folder = tmp_path / "data" / split / label
            folder.mkdir(parents=True)
            for i in range(4):
                (folder / f"{i}.txt").write_text(f"{label} words {i}")
    both = _load(tmp_path / "data")
    assert (len(both.train), len(both.test)) == (8, 8) and both.label_names == ("neg", "pos")
    single = _load(tmp_path / "data" / "train")
    assert len(single.train) + len(single.test) == 8


def test_separate_test_file(tmp_path):
    train = _csv(tmp_path / "train.csv")
    test = _csv(tmp_path / "test.csv", [("영화 재미있다", "pos"), ("지루한", "neg")])
    corpus = _load(train, test_path=str(test))
    assert len(corpus.train) == len(ROWS) and corpus.test_labels.tolist() == [1, 0]
    unknown = _csv(tmp_path / "bad_test.csv", [("x", "maybe")])
    with pytest.raises(DataError, match="bad_test.csv: line 2: label 'maybe' does not occur"):
        _load(train, test_path=str(unknown))


def test_vocabulary_ignores_words_seen_only_in_the_test_split(tmp_path):
    train = _csv(tmp_path / "train.csv", [("alpha beta", "a"), ("beta", "b")])
    test = _csv(tmp_path / "test.csv", [("gamma", "a")])
    corpus = _load(train, test_path=str(test))
    assert corpus.vocabulary.words == ("beta", "alpha")
    assert corpus.test[0].tolist() == [1, 2]


def test_streams_a_large_file(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w") as handle:
        handle.write("text,label\n")
        for i in range(50_000):
            handle.write(f"review {i % 977} words here {i % 13},{'pos' if i % 2 else 'neg'}\n")
    corpus = _load(path)
    assert len(corpus.train) == 40_000 and len(corpus.test) == 10_000


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", b"", "empty.csv: the file is empty"),
        ("cols.csv", b"review,sentiment\nx,y\n", "no text column 'text' (columns found: review, sentiment)"),
        ("label.csv", b"text,label\nfine,a\nok,\nx,b\n", "label.csv: line 3: empty label"),
        ("one.csv", b"text,label\na,x\nb,x\n", "only one class ('x')"),
        ("quote.csv", b'text,label\nok,a\n"unclosed "quote, b\nz,b\n', "quote.csv: line 3: malformed CSV"),
        ("short.csv", b"text,id,label\na,1,x\nb,2\n", "short.csv: line 3: 2 fields, expected 3"),
        ("bad.jsonl", b'{"text": "a", "label": "x"}\n{"text": oops}\n', "bad.jsonl: line 2: malformed JSON"),
        ("keys.jsonl", b'{"text": "a", "lbl": "x"}\n', "line 1: no key 'label' (keys found: text, lbl)"),
        ("bytes.csv", b"text,label\nok,a\n\xff\xfe,b\n", "bytes.csv: line 3: bytes that are not valid utf-8"),
        ("array.jsonl", b"[1, 2]\n", "line 1: expected a JSON object"),
        # An unquoted comma is a field too many, never a label: this used to train label 'really'.
        (
            "long.csv",
            b"text,label\ngood,pos\nwhat a film, really,neg\n",
            "long.csv: line 3: 3 fields, expected 2",
        ),
        ("long.tsv", b"text\tlabel\ngood\tpos\nbad\tneg\tx\n", "long.tsv: line 3: 3 fields, expected 2"),
        (
            "nan.jsonl",
            b'{"text": "a", "label": "x"}\n{"text": "b", "label": NaN}\n',
            "nan.jsonl: line 2: label NaN",
        ),
        ("list.jsonl", b'{"text": "a", "label": ["x"]}\n', "list.jsonl: line 1: label is a JSON array"),
        ("deep.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n", "deep.jsonl: line 1: malformed JSON"),
        # idna raises UnicodeError, which is not a UnicodeDecodeError ("unexpected UnicodeError").
        ("idna.csv", b"text,label\nok,a\nxn--zz,b\n", "idna.csv: line 3: cannot decode as idna"),
        # ...and punycode's message holds the newline it choked on: escaped, so one line.
        (
            "puny.csv",
            b"text\n",
            r"puny.csv: line 1: cannot decode as punycode (decoding with 'punycode' "
            r"codec failed (UnicodeError: Invalid extended code point '\n'))",
        ),
    ],
)
def test_bad_input_names_the_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    encoding = {"idna.csv": "idna", "puny.csv": "punycode"}.get(name, "utf-8")
    with pytest.raises(DataError, match=re.escape(message)) as caught:
        _load(path, encoding=encoding)
    assert "\n" not in str(caught.value)


def test_other_encodings_with_flag(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncafé crème,a\nnaïve café,b\ncafé,a\ncrème café,b\n".encode("latin-1"))
    with pytest.raises(DataError, match="line 2"):
        _load(path)
    assert "café" in _load(path, encoding="latin-1", test_split=0.5).vocabulary.words
    assert _load(path, encoding="latin-1", test_split=0.5).label_names == ("a", "b")


def test_folder_without_class_folders(tmp_path):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.txt").write_text("x")
    with pytest.raises(DataError, match="no class sub-folders"):
        _load(tmp_path / "flat")


def test_single_example_class_warns(tmp_path):
    reporter = RecordingReporter()
    rows = [("a b", "x")] * 5 + [("c d", "y")] * 5 + [("lonely", "z")]
    userfiles.load(UserSource(str(_csv(tmp_path / "d.csv", rows))), seed=0, reporter=reporter)
    assert any("'z' has only one example" in w for w in reporter.warnings)


def test_cheap_checks_before_reading(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        check_source(UserSource(str(tmp_path / "missing.csv")))
    (tmp_path / "x.xlsx").write_bytes(b"x")
    with pytest.raises(UsageError, match="unknown format"):
        check_source(UserSource(str(tmp_path / "x.xlsx")))
    (tmp_path / "ok.csv").write_text("text,label\n")
    with pytest.raises(UsageError, match="unknown encoding"):
        check_source(UserSource(str(tmp_path / "ok.csv"), encoding="klingon"))
    with pytest.raises(UsageError, match="--test-split"):
        check_source(UserSource(str(tmp_path / "ok.csv"), test_split=1.5))


def test_cheap_checks_refuse_codecs_that_are_not_text_encodings(tmp_path):
    (tmp_path / "ok.csv").write_text("text,label\na,x\nb,y\n")
    for codec in ("rot13", "base64", "zlib", "hex"):
        with pytest.raises(UsageError, match=f"'{codec}' is not a text encoding"):
            check_source(UserSource(str(tmp_path / "ok.csv"), encoding=codec))
    with pytest.raises(UsageError, match="unknown format 'xlsx'"):
        check_source(UserSource(str(tmp_path / "ok.csv"), format="xlsx"))


def _csv_rows(labels, texts=None):
    return [(texts[i] if texts else f"text {i}", label) for i, label in enumerate(labels)]


def test_label_order_is_total_for_labels_equal_as_integers():
    # sorted(set, key=int) kept a set's order for ties, which moves with PYTHONHASHSEED.
    assert userfiles.label_order({"1", "01", "0", "00", "-1", "+1", "10"}) == [
        "-1", "0", "00", "+1", "01", "1", "10"
    ]  # fmt: skip
    huge = "9" * 5000  # past int()'s 4,300-digit limit: still ordered as a number
    assert userfiles.label_order({huge, "2", "-" + huge, "10"}) == ["-" + huge, "2", "10", huge]
    assert userfiles.label_order({"b", "10", "a"}) == ["10", "a", "b"]


HASH_SEED_SCRIPT = """
import sys
from rnncli.data import userfiles
from rnncli.data.usersource import UserSource
corpus = userfiles.load(UserSource(sys.argv[1]), seed=0)
print(",".join(corpus.label_names), corpus.train_labels.tolist(), corpus.test_labels.tolist())
"""


def test_label_ids_do_not_depend_on_the_hash_seed(tmp_path):
    path = _csv(tmp_path / "ids.csv", _csv_rows(["1", "01", "0", "00", "2"] * 6))
    answers = set()
    for hash_seed in ("1", "3", "5"):
        result = subprocess.run(
            [sys.executable, "-c", HASH_SEED_SCRIPT, str(path)],
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            timeout=120,
        )
        assert result.returncode == 0, result.stderr.decode()
        answers.add(result.stdout.decode())
    assert len(answers) == 1 and answers.pop().startswith("0,00,01,1,2 ")


def test_json_labels_have_one_spelling_per_value_and_huge_integers_are_labels(tmp_path):
    path = tmp_path / "d.jsonl"
    labels = [1, 1.0, 1e0, "1", True, 2.50, "2.5", False, -0.0, 0, "HUGE"]
    records = [json.dumps({"text": f"text {i}", "label": label}) for i, label in enumerate(labels * 2)]
    # A 5,001-digit integer: past the int-to-str limit that json.loads used to trip over.
    path.write_text("".join(r.replace('"HUGE"', "1" + "0" * 5000) + "\n" for r in records))
    corpus = _load(path, test_path=str(path))
    # Not all integers, so sorted as text.
    assert corpus.label_names == ("0", "1", "1" + "0" * 5000, "2.5", "false", "true")
    big = "9" * 100_000
    (tmp_path / "big.jsonl").write_text(f'{{"text": "a", "label": {big}}}\n{{"text": "b", "label": 1.0}}\n')
    corpus = _load(tmp_path / "big.jsonl", test_path=str(tmp_path / "big.jsonl"))
    assert corpus.label_names == ("1", big)
    assert userrows._canonical_number("1e400000000") == "1e400000000"
    assert userrows._canonical_number("-12.50e-2000") == "-1.25e-1999"
    assert userrows._canonical_number("1.50E3") == "1500"


def test_labels_that_differ_only_in_case_or_spacing_are_kept_apart_with_a_warning(tmp_path):
    rows = _csv_rows(["Pos", "pos", "neg", "neg ", "  neg", "1", "01", "a  b", "A b"] * 3)
    reporter = RecordingReporter()
    corpus = userfiles.load(UserSource(str(_csv(tmp_path / "d.csv", rows))), seed=0, reporter=reporter)
    assert corpus.label_names == ("01", "1", "A b", "Pos", "a  b", "neg", "pos")  # stripped: one 'neg'
    (warning,) = [w for w in reporter.warnings if "differ only" in w]
    assert "'Pos' and 'pos'" in warning and "'01' and '1'" in warning and "'A b' and 'a  b'" in warning


def test_word_ties_are_broken_within_the_training_rows_only(tmp_path):
    labels = ["a", "b"] * 6
    ids = np.array([0, 1] * 6)
    seed = next(s for s in range(100) if 0 in stratified_split(ids, 0.5, s)[1])
    train_rows, held = stratified_split(ids, 0.5, seed)
    texts = ["alpha zeta"] * len(labels)
    texts[0] = "zeta alpha omega"  # held out, and the first row of the file
    corpus = userfiles.load(
        UserSource(str(_csv(tmp_path / "d.csv", _csv_rows(labels, texts))), test_split=0.5), seed
    )
    # Before: ranked by first appearance anywhere, held-out rows included: ('zeta', 'alpha').
    assert corpus.vocabulary.words == ("alpha", "zeta")
    expected = Vocabulary.build([tokenize(texts[i]) for i in train_rows])
    assert corpus.vocabulary.words == expected.words


@pytest.mark.parametrize(
    "split, message",
    [
        (0.001, "--test-split 0.001 holds out none of the 10 texts in d.csv (use at least 0.1)"),
        (
            0.999,
            "--test-split 0.999 holds out all 10 texts in d.csv, leaving none to train on (use at most 0.9)",
        ),
    ],
)
def test_a_split_that_leaves_either_side_empty_is_refused(tmp_path, split, message):
    path = _csv(tmp_path / "d.csv", _csv_rows(["a", "b"] * 5))
    with pytest.raises(UsageError, match=re.escape(message)):
        _load(path, test_split=split)


def test_a_split_that_leaves_a_class_no_training_example_is_refused(tmp_path):
    path = _csv(tmp_path / "d.csv", _csv_rows(["a", "b"]))
    with pytest.raises(UsageError, match=r"--test-split 0.5 leaves class 'a' of d.csv no training example"):
        _load(path, test_split=0.5)


def test_a_training_class_missing_from_the_test_file_is_a_warning(tmp_path):
    train = _csv(tmp_path / "train.csv", _csv_rows(["a", "b", "c"] * 3))
    test = _csv(tmp_path / "test.csv", _csv_rows(["a", "b"]))
    reporter = RecordingReporter()
    corpus = userfiles.load(UserSource(str(train), test_path=str(test)), seed=0, reporter=reporter)
    assert corpus.label_names == ("a", "b", "c") and corpus.test_labels.tolist() == [0, 1]
    assert any("test.csv: no test example of class 'c'" in w for w in reporter.warnings), reporter.warnings


def test_a_field_longer_than_pythons_default_limit_loads(tmp_path):
    long_text = "word " * 40_000  # 200,000 characters: csv's default limit is 131,072
    corpus = _load(_csv(tmp_path / "d.csv", [(long_text, "a"), ("b", "b")] * 2), test_split=0.5)
    assert corpus.vocabulary.words[0] == "word"
    assert userrows.MAX_FIELD >= 100 * 1024 * 1024


def test_a_line_past_the_bound_is_refused_not_read_forever(tmp_path, monkeypatch):
    monkeypatch.setattr(userrows, "MAX_LINE", 4096)
    path = tmp_path / "d.csv"
    path.write_text("text,label\nok,a\n" + "x" * 5000 + ",b\n")
    with pytest.raises(DataError, match="d.csv: line 3: longer than 4,096 bytes"):
        _load(path)
    with pytest.raises(DataError, match="/dev/zero: line 1: longer than 4,096 bytes"):
        _load("/dev/zero")


CSV_BYTES = b"text,label\n" + b"".join(b"good film %d,pos\nbad film %d,neg\n" % (i, i) for i in range(10))


def _pipe(data: bytes) -> tuple[str, threading.Thread, int]:
    """A `/dev/fd/N` path to the read end of a pipe a thread writes `data` into."""
    read, write = os.pipe()

    def feed():
        with os.fdopen(write, "wb") as handle:
            handle.write(data)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return f"/dev/fd/{read}", thread, read


@pytest.mark.parametrize(
    "data",
    [
        CSV_BYTES,
        CSV_BYTES.replace(b",", b"\t"),
        b"\n"
        + b"".join(
            json.dumps({"text": f"{w} film {i}", "label": w}).encode() + b"\n"
            for i in range(10)
            for w in ("good", "bad")
        ),
    ],
    ids=["csv", "tsv", "jsonl"],
)
def test_a_pipe_without_a_suffix_is_read_once_and_its_format_sniffed(data):
    path, thread, read = _pipe(data)
    try:
        corpus = _load(path, test_split=0.5)
    finally:
        thread.join(10)
        os.close(read)
    assert len(corpus.label_names) == 2 and len(corpus.train) + len(corpus.test) == 20


def test_a_pipe_as_the_test_file_and_for_counting_classes(tmp_path):
    train = tmp_path / "train.csv"
    train.write_bytes(CSV_BYTES)
    path, thread, read = _pipe(b"text,label\ngood,pos\nbad,neg\n")
    try:
        corpus = _load(train, test_path=path)
    finally:
        thread.join(10)
        os.close(read)
    assert corpus.test_labels.tolist() == [1, 0]
    path, thread, read = _pipe(CSV_BYTES)
    try:
        assert userfiles.count_classes(UserSource(path)) == 2
    finally:
        thread.join(10)
        os.close(read)


def test_a_fifo_and_a_regular_file_without_suffix(tmp_path):
    plain = tmp_path / "reviews"
    plain.write_bytes(CSV_BYTES.replace(b",", b"\t"))
    assert _load(plain).label_names == ("neg", "pos")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as handle:
            handle.write(CSV_BYTES)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    assert _load(fifo).label_names == ("neg", "pos")
    thread.join(10)
    (tmp_path / "blank.csv").write_bytes(b"\n \n")
    with pytest.raises(DataError, match="blank.csv: the file is empty"):
        _load(tmp_path / "blank.csv")


def test_absolute_keeps_the_name_of_a_pipe():
    from rnncli.data.usersource import absolute

    read, write = os.pipe()
    try:
        assert absolute(f"/dev/fd/{read}") == f"/dev/fd/{read}"
    finally:
        os.close(read)
        os.close(write)
    assert absolute(".") == os.path.realpath(".")


def test_column_names_and_keys_in_messages_stay_on_one_line(tmp_path):
    (tmp_path / "d.csv").write_bytes(b'"re\nview",' + b"x" * 500 + b"\nfine,a\n")
    with pytest.raises(DataError) as caught:
        _load(tmp_path / "d.csv")
    assert "\n" not in str(caught.value) and "columns found: 're\\nview', xxx" in str(caught.value)
    (tmp_path / "d.jsonl").write_text(json.dumps({"te\nxt": 1, "label": "a"}) + "\n")
    with pytest.raises(DataError, match=r"keys found: 'te\\nxt', label") as caught:
        _load(tmp_path / "d.jsonl")
    assert "\n" not in str(caught.value)
