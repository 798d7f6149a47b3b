"""The Naver Sentiment Movie Corpus (NSMC): Korean movie reviews, negative or positive.

Two UTF-8 files, `ratings_train.txt` (150,000 reviews) and `ratings_test.txt` (50,000), each a
header `id<TAB>document<TAB>label` and then one review a line, label 0 negative or 1 positive.
There is no quoting: a `"` is part of the review (many hold one), a tab only separates columns.
So the files are split on tabs by hand; a CSV reader would join lines at an unmatched quote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnncli.data.corpus import RawCorpus
from rnncli.errors import DataError
from rnncli.progress import NullReporter, Reporter, Task

LABEL_NAMES = ("negative", "positive")
TRAIN_FILE = "ratings_train.txt"
TEST_FILE = "ratings_test.txt"
FILES = (TRAIN_FILE, TEST_FILE)
#: Reviews in each published file: the progress bar's length (a copy of other size still reads).
REVIEWS = {TRAIN_FILE: 150_000, TEST_FILE: 50_000}
HEADER = ("id", "document", "label")
_LABELS = {"0": 0, "1": 1}
#: Lines read between two updates of the progress bar (one update a line costs more than a read).
_STEP = 10_000
_HINT = "NSMC files are UTF-8: a header id<TAB>document<TAB>label, then id, review, 0 or 1 a line"


class NsmcFileError(DataError):
    """A malformed NSMC file; `path` says which, so that only that file is fetched again when it
    is rnncli's own download (its companion may be the user's, and is never touched)."""

    def __init__(self, path: Path, message: str, hint: str | None = _HINT) -> None:
        super().__init__(f"{path}: {message}", hint)
        self.path = Path(path)


def _fields(path: Path, number: int, raw: bytes) -> list[str]:
    """One line's columns; a line break inside a field cannot happen (there is no quoting)."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):  # a copy saved with Windows line ends
        raw = raw[:-1]
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NsmcFileError(path, f"line {number}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return line.split("\t")


def read_ratings(path: Path, task: Task | None = None) -> tuple[list[str], list[int]]:
    """`(texts, labels)` of one NSMC file, in the file's order (the published files come shuffled).

    An empty document (`id<TAB><TAB>0`) is kept as an empty text, not skipped: the split keeps
    the published size and every line of the file has its row, and an empty text is simply one
    the model sees as padding (as it does a review made only of punctuation). A line that is not
    three tab-separated fields, or whose label is not 0 or 1, is an error naming the file and
    line: a silently dropped line would change the corpus without anyone knowing.
    """
    texts: list[str] = []
    labels: list[int] = []
    try:
        with open(path, "rb") as handle:
            header = [field.lstrip("\ufeff") for field in _fields(path, 1, handle.readline())]
            if tuple(header) != HEADER:
                shown = "\\t".join(header)[:80] or "nothing (an empty file)"
                raise NsmcFileError(path, f"line 1: expected the header id\\tdocument\\tlabel, found {shown}")
            for number, raw in enumerate(handle, start=2):
                fields = _fields(path, number, raw)
                if len(fields) != 3:
                    what = f"{len(fields)} tab-separated fields, expected 3 (id, document, label)"
                    raise NsmcFileError(path, f"line {number}: {what}")
                label = _LABELS.get(fields[2])
                if label is None:
                    raise NsmcFileError(path, f"line {number}: label {fields[2][:20]!r}, expected 0 or 1")
                texts.append(fields[1])
                labels.append(label)
                if task is not None and len(texts) % _STEP == 0:
                    task.advance(_STEP)
    except OSError as exc:
        raise NsmcFileError(path, f"cannot read ({exc.strerror or exc})", None) from exc
    if task is not None:
        task.advance(len(texts) % _STEP)
    if not texts:
        raise NsmcFileError(path, "no reviews after the header")
    return texts, labels


def load(source: Path, reporter: Reporter | None = None) -> RawCorpus:
    """Parse `ratings_train.txt` and `ratings_test.txt` from the folder `source`; 0 = negative."""
    reporter = reporter or NullReporter()
    splits = []
    for name in FILES:
        task = reporter.task(f"Reading {name}", REVIEWS[name], "reviews")
        try:
            texts, labels = read_ratings(Path(source) / name, task)
        finally:
            task.close()
        splits.append((texts, np.asarray(labels, dtype=np.int32)))
    (train_texts, train_labels), (test_texts, test_labels) = splits
    return RawCorpus("nsmc", LABEL_NAMES, train_texts, train_labels, test_texts, test_labels)
