"""The book's two corpora by name: where to find them, how to read them, cached.

Only metadata lives at module level, so the CLI can list and check names without importing
NumPy or the parsers.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rnncli.errors import UsageError
from rnncli.progress import NullReporter, Reporter

if TYPE_CHECKING:
    from rnncli.data.corpus import EncodedCorpus


@dataclass(frozen=True)
class BuiltinDataset:
    name: str
    description: str
    num_classes: int
    filename: str
    folder: str
    urls: tuple[str, ...]
    parser: str  # module under rnncli.data with a `load(source, reporter)` function
    #: The published SHA-256 of the download, where one is published; a download that differs
    #: is refused. Local copies in --data-dir may be repacks and are checked by parsing instead.
    sha256: str | None = None


DATASETS: dict[str, BuiltinDataset] = {
    "imdb": BuiltinDataset(
        "imdb",
        "IMDB movie reviews, positive or negative (25,000 train / 25,000 test)",
        2,
        "aclImdb_v1.tar.gz",
        "aclImdb",
        ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",),
        "imdb",
        "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
    ),
    "reuters": BuiltinDataset(
        "reuters",
        "Reuters-21578 newswires in 46 topics (8,982 train / 2,246 test)",
        46,
        "reuters21578.tar.gz",
        "reuters21578",
        (
            "https://archive.ics.uci.edu/ml/machine-learning-databases/reuters21578-mld/reuters21578.tar.gz",
            "https://www.daviddlewis.com/resources/testcollections/reuters21578/reuters21578.tar.gz",
        ),
        "reuters",
    ),
}


def get(name: str) -> BuiltinDataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise UsageError(f"unknown dataset {name!r}", f"choose one of: {', '.join(DATASETS)}") from None


def load(
    name: str,
    data_dir: Path | None = None,
    reporter: Reporter | None = None,
    use_cache: bool = True,
) -> EncodedCorpus:
    """The encoded corpus: from the cache if valid, else parsed from a local or fetched archive.

    A damaged cache or download is not trusted: it is reported through `reporter.warn` and
    rebuilt (the cache) or fetched again (the download).
    """
    from rnncli.data import cache, fetch
    from rnncli.data.corpus import EncodedCorpus
    from rnncli.errors import DataError, UnsafeArchiveError

    dataset = get(name)
    reporter = reporter or NullReporter()
    path = cache.cache_path(name)
    if use_cache and path.exists():
        try:
            return cache.load(path)
        except (ValueError, OSError) as exc:
            reporter.warn(f"ignoring damaged cache {path} ({exc}); rebuilding it")
    parser = importlib.import_module(f"rnncli.data.{dataset.parser}")

    def fetch_again(source: Path, why: str) -> Path:
        reporter.warn(f"damaged download {source} ({why}); fetching it again")
        fetch.discard(source)
        return fetch.download(dataset.filename, dataset.urls, reporter, sha256=dataset.sha256)

    source = fetch.locate(dataset.filename, dataset.folder, data_dir)
    if source is not None and fetch.is_download(source):
        problem = fetch.check_download(source)
        if problem is not None:
            source = fetch_again(source, problem)
    if source is None:
        source = fetch.download(dataset.filename, dataset.urls, reporter, sha256=dataset.sha256)
    try:
        raw = parser.load(source, reporter)
    except UnsafeArchiveError:
        raise  # hostile, not damaged: fetching it again would fetch the same
    except DataError as exc:
        if not fetch.is_download(source):
            raise  # the user's own copy: report it, never delete it
        raw = parser.load(fetch_again(source, exc.message), reporter)
    corpus = EncodedCorpus.from_raw(raw, reporter)
    if use_cache:
        try:
            cache.save(corpus, path)
        except OSError as exc:
            reporter.warn(f"could not write cache {path} ({exc})")
    return corpus
