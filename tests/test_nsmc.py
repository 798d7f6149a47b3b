"""NSMC, the Korean movie reviews: reading its two files, finding them, downloading them."""

import functools
import http.server
import os
import threading
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest

from rnncli.data import builtin, cache, fetch, nsmc
from rnncli.errors import DataError, DownloadError
from rnncli.progress import NullReporter, RecordingReporter
from rnncli.settings import resolve
from tests.conftest import DATA, has_corpus

needs_nsmc = pytest.mark.skipif(
    not (has_corpus("nsmc/ratings_train.txt") and has_corpus("nsmc/ratings_test.txt")),
    reason=f"needs nsmc/ratings_train.txt and nsmc/ratings_test.txt in $RNNCLI_DATA ({DATA})",
)

HEADER = "id\tdocument\tlabel\n"
TRAIN_ROWS = [
    ("9976970", "아 더빙.. 진짜 짜증나네요 목소리", "0"),
    ("3819312", '"흠...포스터보고 초딩영화줄....오버연기조차 가볍지 않구나', "1"),  # an unmatched quote
    ("10265843", "", "0"),  # an empty document
    ("9045019", '교도소 이야기구먼 .."솔직히" 재미는 없다', "0"),
    ("6483659", "사이몬페그의 익살스런 연기가 돋보였던 영화!", "1"),
]
TEST_ROWS = [
    ("6270596", "굳 ㅋ", "1"),
    ("9274899", "", "0"),
    ("8544678", '뭐야 이 평점들은.... "나쁘진 않지만', "0"),
]


def _write(path, rows, header=HEADER, newline="\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [header.rstrip("\n")] + ["\t".join(row) for row in rows]
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    return path


def _corpus_folder(folder, train=TRAIN_ROWS, test=TEST_ROWS):
    _write(folder / "ratings_train.txt", train)
    _write(folder / "ratings_test.txt", test)
    return folder


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty cache, no $RNNCLI_DATA, and NSMC's public home unreachable."""
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNCLI_DATA", raising=False)
    _point_at(monkeypatch, "http://127.0.0.1:9")


def _point_at(monkeypatch, base):
    dataset = builtin.DATASETS["nsmc"]
    companions = tuple(replace(part, urls=(f"{base}/{part.filename}",)) for part in dataset.companions)
    moved = replace(dataset, urls=(f"{base}/{dataset.filename}",), companions=companions)
    monkeypatch.setitem(builtin.DATASETS, "nsmc", moved)


# --- reading ---------------------------------------------------------------------------------


def test_quotes_are_text_and_empty_documents_are_kept_as_empty_texts(tmp_path):
    raw = nsmc.load(_corpus_folder(tmp_path))
    assert raw.label_names == ("negative", "positive")
    assert raw.train_texts == [row[1] for row in TRAIN_ROWS]
    assert raw.train_labels.tolist() == [0, 1, 0, 0, 1] and raw.train_labels.dtype == np.int32
    assert raw.test_texts == [row[1] for row in TEST_ROWS] and raw.test_labels.tolist() == [1, 0, 0]
    assert [raw.train_texts.count(""), raw.test_texts.count("")] == [1, 1]


def test_windows_line_ends_and_a_byte_order_mark_read_the_same(tmp_path):
    _write(tmp_path / "ratings_train.txt", TRAIN_ROWS, header="\ufeff" + HEADER, newline="\r\n")
    _write(tmp_path / "ratings_test.txt", TEST_ROWS, newline="\r\n")
    raw = nsmc.load(tmp_path)
    assert raw.train_texts == [row[1] for row in TRAIN_ROWS] and raw.test_labels.tolist() == [1, 0, 0]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("5\t좋다", "line 5: 2 tab-separated fields, expected 3 (id, document, label)"),
        ("5\t좋다\t1\t1", "line 5: 4 tab-separated fields, expected 3 (id, document, label)"),
        ("5\t좋다\t2", "line 5: label '2', expected 0 or 1"),
        ("5\t좋다\t", "line 5: label '', expected 0 or 1"),
        ("5\t좋다\tpositive", "line 5: label 'positive', expected 0 or 1"),
    ],
)
def test_a_malformed_line_is_an_error_naming_the_file_and_line(tmp_path, line, says):
    folder = _corpus_folder(tmp_path)
    path = folder / "ratings_test.txt"
    path.write_text(path.read_text(encoding="utf-8") + line + "\n6\t끝\t0\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        nsmc.load(folder)
    assert info.value.message == f"{path}: {says}"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "line 1: expected the header id\\tdocument\\tlabel, found nothing (an empty file)"),
        (b"document\tlabel\n", "line 1: expected the header id\\tdocument\\tlabel, found document\\tlabel"),
        (b"1\t\xec\xa2\x8b\t1\n", "line 1: expected the header"),  # no header: a review first
        (HEADER.encode(), "no reviews after the header"),
        (HEADER.encode() + b"1\t\xff\xfe\t1\n", "line 2: not UTF-8 (invalid start byte at byte 2)"),
    ],
)
def test_a_missing_header_or_bad_bytes_are_errors_naming_the_file(tmp_path, content, says):
    folder = _corpus_folder(tmp_path)
    (folder / "ratings_train.txt").write_bytes(content)
    with pytest.raises(DataError) as info:
        nsmc.load(folder)
    assert info.value.message.startswith(f"{folder / 'ratings_train.txt'}: {says}")


def test_the_parser_reads_the_files_the_dataset_fetches():
    assert [part.filename for part in builtin.get("nsmc").parts] == list(nsmc.FILES)


@pytest.mark.slow
@needs_nsmc
def test_the_real_files_have_their_published_sizes_and_balance():
    assert fetch.locate_together(nsmc.FILES, "nsmc", DATA) == DATA / "nsmc"  # as the corpora lie
    raw = nsmc.load(DATA / "nsmc")
    assert (len(raw.train_texts), len(raw.test_texts)) == (150_000, 50_000)
    negatives = [int((labels == 0).sum()) for labels in (raw.train_labels, raw.test_labels)]
    assert negatives == [74_925, 25_075]
    # No document of these files is empty (NSMC's published ones have a few): none kept, none lost.
    assert [raw.train_texts.count(""), raw.test_texts.count("")] == [0, 0]
    assert max(len(text) for text in raw.train_texts + raw.test_texts) == 147
    # Quotes are text: a CSV reader would have joined lines at these and lost reviews.
    assert [sum('"' in t for t in texts) for texts in (raw.train_texts, raw.test_texts)] == [637, 219]


# --- finding ---------------------------------------------------------------------------------


def test_the_files_are_found_in_a_data_folder_or_its_nsmc_sub_folder(tmp_path, offline, monkeypatch):
    data = tmp_path / "data"
    _corpus_folder(data / "nsmc")
    corpus, origin = builtin.load_with_origin("nsmc", data)
    assert origin == f"{data / 'nsmc' / 'ratings_train.txt'} and {data / 'nsmc' / 'ratings_test.txt'}"
    assert len(corpus.train) == 5 and corpus.label_names == ("negative", "positive")
    # $RNNCLI_DATA is searched the same way; the data folder itself comes before its sub-folder.
    monkeypatch.setenv("RNNCLI_DATA", str(data))
    _corpus_folder(data, train=TRAIN_ROWS[:2])
    corpus, origin = builtin.load_with_origin("nsmc")
    assert origin.startswith(str(data / "ratings_train.txt")) and len(corpus.train) == 2
    # And the cache folder, also with an nsmc/ sub-folder (as the shared corpora lay them out).
    monkeypatch.delenv("RNNCLI_DATA")
    _corpus_folder(fetch.cache_dir() / "nsmc", train=TRAIN_ROWS[:3])
    corpus, origin = builtin.load_with_origin("nsmc")
    assert origin.startswith(str(fetch.cache_dir() / "nsmc" / "ratings_train.txt")) and len(corpus.train) == 3


def test_the_two_files_are_only_ever_taken_together_from_one_folder(tmp_path, offline):
    data = tmp_path / "data"
    _write(data / "ratings_train.txt", TRAIN_ROWS)
    _write(data / "nsmc" / "ratings_test.txt", TEST_ROWS)
    assert fetch.locate_together(nsmc.FILES, "nsmc", data) is None
    reporter = RecordingReporter()
    with pytest.raises(DownloadError, match="cannot find ratings_train.txt locally") as info:
        builtin.load("nsmc", data, reporter)
    assert (
        info.value.hint == f"put ratings_train.txt and ratings_test.txt in {data} (searched before the cache)"
    )
    assert reporter.warnings == [
        f"ignoring ratings_train.txt in {data}: ratings_test.txt is not beside it, "
        "and the files are only read together",
        f"ignoring ratings_test.txt in {data / 'nsmc'}: ratings_train.txt is not beside it, "
        "and the files are only read together",
    ]
    assert not fetch.cache_dir().exists() or not list(fetch.cache_dir().iterdir())


# --- downloading -----------------------------------------------------------------------------


class _Server(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, and keeps every path asked for, so a test can count the downloads."""

    def __init__(self, *args, asked, short=(), **kwargs):
        self.asked, self.short = asked, short
        super().__init__(*args, **kwargs)

    def do_GET(self):
        self.asked.append(self.path)
        if self.path.lstrip("/") in self.short:  # promises more than it sends, as a dropped line does
            self.send_response(200)
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b"id\tdocument\tlabel\n")
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@contextmanager
def _serving(folder, asked, short=()):
    handler = functools.partial(_Server, asked=asked, short=short, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Bars(NullReporter):
    """Keeps each progress bar's title and length."""

    def __init__(self):
        self.bars = []
        self.warnings = []

    def task(self, description, total=None, unit=""):
        self.bars.append((description, total, unit))
        return super().task(description, total, unit)

    def warn(self, message):
        self.warnings.append(message)


def test_both_files_are_downloaded_with_a_progress_bar_and_their_digests_recorded(
    tmp_path, offline, monkeypatch
):
    served = _corpus_folder(tmp_path / "served")
    empty = tmp_path / "empty"
    empty.mkdir()
    asked = []
    reporter = _Bars()
    with _serving(served, asked) as base:
        _point_at(monkeypatch, base)
        corpus, origin = builtin.load_with_origin("nsmc", empty, reporter)
    assert asked == ["/ratings_train.txt", "/ratings_test.txt"]
    where = fetch.cache_dir()
    assert origin == f"{where / 'ratings_train.txt'} and {where / 'ratings_test.txt'}"
    for name in nsmc.FILES:
        assert (where / name).read_bytes() == (served / name).read_bytes()
        assert fetch.is_download(where / name) and fetch.check_download(where / name) is None
        size = (served / name).stat().st_size
        assert (f"Downloading {name}", size, "B") in reporter.bars
    assert len(corpus.train) == 5 and len(corpus.test) == 3 and not reporter.warnings


def test_a_short_download_is_refused_and_the_next_run_fetches_only_what_is_missing(
    tmp_path, offline, monkeypatch
):
    served = _corpus_folder(tmp_path / "served")
    asked = []
    with _serving(served, asked, short=("ratings_test.txt",)) as base, pytest.raises(DownloadError) as info:
        _point_at(monkeypatch, base)
        builtin.load("nsmc")
    assert "cannot find ratings_test.txt locally" in info.value.message and "truncated" in info.value.message
    assert "ratings_train.txt and ratings_test.txt" in info.value.hint
    assert asked == ["/ratings_train.txt", "/ratings_test.txt"]
    # Nothing short kept under the file's name; the training file that arrived whole is kept.
    assert sorted(p.name for p in fetch.cache_dir().iterdir()) == [
        "ratings_train.txt",
        "ratings_train.txt.sha256",
    ]
    asked.clear()
    with _serving(served, asked) as base:
        _point_at(monkeypatch, base)
        assert len(builtin.load("nsmc").test) == 3
    assert asked == ["/ratings_test.txt"]


def _damage_on_disk(path, data: bytes) -> None:
    """New content, as the disk damages a file: the same file, its modification time unchanged."""
    stat = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_only_the_damaged_one_of_the_two_downloads_is_fetched_again(tmp_path, offline, monkeypatch):
    served = _corpus_folder(tmp_path / "served")
    asked = []
    with _serving(served, asked) as base:
        _point_at(monkeypatch, base)
        first = builtin.load("nsmc", use_cache=False)
        test_file = fetch.cache_dir() / "ratings_test.txt"
        data = bytearray(test_file.read_bytes())
        data[-2] ^= 0x01  # label 0 becomes 1: still parses, caught by the recorded digest
        _damage_on_disk(test_file, bytes(data))
        asked.clear()
        reporter = RecordingReporter()
        again = builtin.load("nsmc", reporter=reporter, use_cache=False)
    assert asked == ["/ratings_test.txt"]
    assert len(reporter.warnings) == 1 and f"damaged download {test_file}" in reporter.warnings[0]
    assert again.test_labels.tolist() == first.test_labels.tolist() == [1, 0, 0]
    assert test_file.read_bytes() == (served / "ratings_test.txt").read_bytes()


def test_a_malformed_file_of_the_users_beside_a_download_is_reported_never_replaced(
    tmp_path, offline, monkeypatch
):
    """In the cache folder, our download of the test file beside the user's own training file:
    the parse error names the user's file, which is kept, and nothing is fetched again."""
    served = _corpus_folder(tmp_path / "served")
    users = _write(fetch.cache_dir() / "ratings_train.txt", TRAIN_ROWS)
    users.write_text(users.read_text(encoding="utf-8") + "7\t별로\t3\n", encoding="utf-8")
    before = users.read_bytes()
    asked = []
    reporter = RecordingReporter()
    with _serving(served, asked) as base, pytest.raises(DataError) as info:
        _point_at(monkeypatch, base)
        builtin.load("nsmc", reporter=reporter)
    assert info.value.message == f"{users}: line 7: label '3', expected 0 or 1"
    assert asked == ["/ratings_test.txt"] and not reporter.warnings
    assert users.read_bytes() == before and not fetch.is_download(users)


# --- the prepared cache ----------------------------------------------------------------------


def test_the_prepared_cache_follows_both_files_and_nothing_else_in_their_folder(tmp_path, offline):
    data = _corpus_folder(tmp_path / "data")
    corpus, origin = builtin.load_with_origin("nsmc", data)
    _, origin = builtin.load_with_origin("nsmc", data)
    assert origin.endswith(f"(prepared in {cache.cache_path('nsmc')})")
    (data / "notes.txt").write_text("something else in the same folder")
    _, origin = builtin.load_with_origin("nsmc", data)
    assert origin.endswith(f"(prepared in {cache.cache_path('nsmc')})")
    _write(data / "ratings_test.txt", TEST_ROWS + [("1", "새로운 리뷰", "1")])
    corpus, origin = builtin.load_with_origin("nsmc", data)
    assert "(prepared in" not in origin and len(corpus.test) == 4


# --- settings --------------------------------------------------------------------------------


def test_defaults_suit_short_reviews_and_the_best_preset_is_nbsvm_over_characters_and_pieces():
    book = resolve("nsmc")
    assert (book.arch, book.num_words, book.maxlen, book.batch_size) == ("lstm", 20000, 60, 64)
    assert (book.epochs, book.patience, book.val, book.mask, book.preset) == (20, 2, "0.2", True, "book")
    assert book.tokenizer == "subword"
    best = resolve("nsmc", preset="best")
    assert (best.arch, best.tokenizer, best.maxlen, best.buckets, best.num_words, best.ngrams) == (
        "nbsvm",
        "chars+subword",
        250,
        10_000_000,
        12000,
        5,
    )
    # Fitted on every training review for the epochs a validation split had picked.
    assert (best.epochs, best.val) == (4, "none")
    assert resolve("nsmc", preset="best", maxlen=30).maxlen == 30


def test_train_help_lists_nsmc_with_its_defaults_and_presets(cli):
    text = " ".join(cli("train", "--help", env={"COLUMNS": "200"}).stdout.decode().split())
    assert "Corpus: imdb, reuters, nsmc," in text
    assert "nsmc 20000" in text and "nsmc 60" in text and "nsmc --mask" in text and "nsmc subword" in text
    assert "nsmc: book (an LSTM over SentencePiece pieces with the defaults for NSMC), best (NBSVM" in text


# --- the command line ------------------------------------------------------------------------


def test_a_malformed_line_is_one_line_on_stderr_naming_file_and_line(tmp_path, offline, cli, runs_dir):
    data = _corpus_folder(tmp_path / "data")
    path = data / "ratings_train.txt"
    path.write_text(path.read_text(encoding="utf-8") + "8\t좋아요\n", encoding="utf-8")
    result = cli("train", "nsmc", "--data-dir", str(data), "--epochs", "1", "--no-plot")
    assert result.returncode == 1
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and f"{path}: line 7: 2 tab-separated fields, expected 3" in lines[0]
    assert "Traceback" not in result.stderr.decode()


@pytest.mark.slow
@needs_nsmc
def test_train_on_a_slice_of_the_real_corpus_then_predict_korean(cli, runs_dir):
    result = cli("train", "nsmc", "--limit", "500", "--epochs", "1", "--no-plot", "--seed", "1")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    for line in ("2 categories", "400 training texts", "100 validation texts", "500 test texts"):
        assert line in out
    assert "Test Accuracy:" in out
    result = cli("predict", "정말 재미있는 영화였다")
    assert result.returncode == 0, result.stderr.decode()
    label, probability = result.stdout.decode().strip().split("\t")
    assert label in ("negative", "positive") and 0.5 <= float(probability) <= 1.0
