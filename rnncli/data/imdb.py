"""The Large Movie Review Dataset (aclImdb), read as `keras.datasets.imdb` was built from it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from rnncli.data.archives import iter_files
from rnncli.data.corpus import RawCorpus, shuffled
from rnncli.errors import DataError
from rnncli.progress import NullReporter, Reporter

LABEL_NAMES = ("negative", "positive")
REVIEWS_PER_SPLIT = 25_000

_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# keras.datasets.imdb shuffles each split with this seed; we do the same for its order.
SHUFFLE_SEED = 113


def _read(path: Path) -> bytes:
    """A file of an extracted folder; one that cannot be read is a data error naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _iter_reviews(source: Path) -> Iterator[tuple[str, bytes]]:
    if source.is_dir():
        for split in ("train", "test"):
            for polarity in ("neg", "pos"):
                for path in sorted((source / split / polarity).glob("*.txt")):
                    yield f"aclImdb/{split}/{polarity}/{path.name}", _read(path)
    else:
        yield from iter_files(source)


def load(source: Path, reporter: Reporter | None = None) -> RawCorpus:
    """Parse reviews from the archive or an extracted `aclImdb/` folder; neg = 0, pos = 1."""
    reporter = reporter or NullReporter()
    rows: dict[str, list[tuple[int, int, str]]] = {"train": [], "test": []}
    task = reporter.task(f"Reading {source.name}", 2 * REVIEWS_PER_SPLIT, "reviews")
    try:
        for name, data in _iter_reviews(source):
            match = _MEMBER.search(name)
            if not match:
                continue
            split, polarity, review_id = match.group(1), match.group(2), int(match.group(3))
            text = _BREAK.sub(" ", data.decode("utf-8", errors="replace"))
            rows[split].append((int(polarity == "pos"), review_id, text))
            task.advance()
    finally:
        task.close()
    for split, found in rows.items():
        if not found:
            raise DataError(
                f"{source}: no aclImdb/{split}/{{pos,neg}}/*.txt reviews found",
                "delete it so rnncli fetches it again",
            )
    splits = {}
    for split, found in rows.items():
        # A fixed order first (label, id), so the seeded shuffle gives the same split anywhere.
        found.sort(key=lambda row: (row[0], row[1]))
        splits[split] = shuffled([row[2] for row in found], [row[0] for row in found], SHUFFLE_SEED)
    (train_texts, train_labels), (test_texts, test_labels) = splits["train"], splits["test"]
    return RawCorpus("imdb", LABEL_NAMES, train_texts, train_labels, test_texts, test_labels)
