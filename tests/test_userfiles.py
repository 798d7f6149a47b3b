"""Reading a user's own files: every format, and every kind of bad input with its line."""

from __future__ import annotations

import json

import pytest

from rnncli.data import userfiles
from rnncli.data.usersource import UserSource, check_source
from rnncli.errors import DataError, UsageError
from rnncli.progress import RecordingReporter

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
    ],
)
def test_bad_input_names_the_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _load(path)


def test_other_encodings_with_flag(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncafé crème,a\nnaïve,b\n".encode("latin-1"))
    with pytest.raises(DataError, match="line 2"):
        _load(path)
    assert "café" in _load(path, encoding="latin-1").vocabulary.words
    assert _load(path, encoding="latin-1").label_names == ("a", "b")


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
