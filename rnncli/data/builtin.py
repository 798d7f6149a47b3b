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


DATASETS: dict[str, BuiltinDataset] = {
    "imdb": BuiltinDataset(
        "imdb",
        "IMDB movie reviews, positive or negative (25,000 train / 25,000 test)",
        2,
        "aclImdb_v1.tar.gz",
        "aclImdb",
        ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",),
        "imdb",
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
    """The encoded corpus: from the cache if valid, else parsed from a local or fetched archive."""
    import zipfile

    from rnncli.data import cache
    from rnncli.data.corpus import EncodedCorpus
    from rnncli.data.fetch import download, locate

    dataset = get(name)
    reporter = reporter or NullReporter()
    path = cache.cache_path(name)
    if use_cache and path.exists():
        try:
            return cache.load(path)
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
            reporter.warn(f"ignoring damaged cache {path} ({exc}); rebuilding it")
    source = locate(dataset.filename, dataset.folder, data_dir)
    if source is None:
        source = download(dataset.filename, dataset.urls, reporter)
    parser = importlib.import_module(f"rnncli.data.{dataset.parser}")
    corpus = EncodedCorpus.from_raw(parser.load(source, reporter), reporter)
    if use_cache:
        try:
            cache.save(corpus, path)
        except OSError as exc:
            reporter.warn(f"could not write cache {path} ({exc})")
    return corpus
