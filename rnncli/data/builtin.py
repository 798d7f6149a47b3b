"""The built-in corpora by name: where to find them, how to read them, cached.

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
    from rnncli.data.corpus import EncodedCorpus, RawCorpus


@dataclass(frozen=True)
class Part:
    """One file of a corpus published as several plain files, and where to download it."""

    filename: str
    urls: tuple[str, ...]
    sha256: str | None = None


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
    #: Files published beside `filename` and read together with it (NSMC's test file beside its
    #: training file). Then all of them are looked for in each data folder and in its `folder`
    #: sub-folder, only ever taken together from one folder, downloaded each on its own where
    #: missing, and the parser is given the folder that holds them.
    companions: tuple[Part, ...] = ()

    @property
    def parts(self) -> tuple[Part, ...]:
        """Every file to find or download: `filename` first, then its companions."""
        return (Part(self.filename, self.urls, self.sha256), *self.companions)


_NSMC = "https://raw.githubusercontent.com/e9t/nsmc/master"

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
    # No checksums are published for NSMC: each file's digest is recorded when it arrives.
    "nsmc": BuiltinDataset(
        "nsmc",
        "Naver movie reviews in Korean, positive or negative (150,000 train / 50,000 test)",
        2,
        "ratings_train.txt",
        "nsmc",
        (f"{_NSMC}/ratings_train.txt",),
        "nsmc",
        companions=(Part("ratings_test.txt", (f"{_NSMC}/ratings_test.txt",)),),
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
    """The encoded corpus; see `load_with_origin`."""
    return load_with_origin(name, data_dir, reporter, use_cache)[0]


def load_with_origin(
    name: str,
    data_dir: Path | None = None,
    reporter: Reporter | None = None,
    use_cache: bool = True,
    tokenizer: str = "words",
) -> tuple[EncodedCorpus, str]:
    """The encoded corpus, and where it came from (the archive or folder, and the cache if used).

    `tokenizer` names how texts become tokens; each tokenizer has a prepared cache of its own.

    The source is always found first (`--data-dir` or `$RNNCLI_DATA`, then the cache folder,
    then a download), and the prepared cache is used only if it was made from that very source,
    so a named `--data-dir` is never silently replaced by a corpus read elsewhere. A damaged
    cache is reported through `reporter.warn` and rebuilt; a damaged download of rnncli's own is
    reported and fetched again. An archive of the user's is never deleted or replaced.
    """
    from rnncli.data import cache
    from rnncli.data.corpus import EncodedCorpus
    from rnncli.tokenizers import make as make_tokenizer

    dataset = get(name)
    reporter = reporter or NullReporter()
    source = _find(dataset, data_dir, reporter)
    path = cache.cache_path(name, tokenizer)
    if use_cache and path.exists():
        try:
            corpus = cache.load(path, _fingerprint(dataset, source))
            return corpus, f"{_origin(dataset, source)} (prepared in {path})"
        except cache.StaleCache:
            pass  # made from another source, or from this one before it changed: rebuild
        except (ValueError, OSError) as exc:
            reporter.warn(f"ignoring damaged cache {path} ({exc}); rebuilding it")
    raw, source = _parse(dataset, source, data_dir, reporter)
    corpus = EncodedCorpus.from_raw(raw, reporter, make_tokenizer(tokenizer))
    if use_cache:
        try:
            cache.save(corpus, path, _fingerprint(dataset, source))
        except OSError as exc:
            reporter.warn(f"could not write cache {path} ({exc})")
    return corpus, _origin(dataset, source)


def _find(dataset: BuiltinDataset, data_dir: Path | None, reporter: Reporter) -> Path:
    """The local copy (archive, extracted folder, or the folder holding every part), else fetched.

    A corpus of several files is downloaded into the cache file by file, only those missing
    there, so a download that failed halfway resumes with the file that failed.
    """
    from rnncli.data import fetch
    from rnncli.data.locations import cache_dir

    if not dataset.companions:
        source = fetch.locate(dataset.filename, dataset.folder, data_dir)
        if source is None:
            source = fetch.download(
                dataset.filename, dataset.urls, reporter, sha256=dataset.sha256, data_dir=data_dir
            )
        return source
    names = [part.filename for part in dataset.parts]
    folder = fetch.locate_together(names, dataset.folder, data_dir)
    if folder is not None:
        return folder
    for candidate in fetch.candidate_folders(dataset.folder, data_dir):
        found = [name for name in names if (candidate / name).is_file()]
        if found and candidate.resolve() != cache_dir().resolve():
            missing = [name for name in names if name not in found]
            reporter.warn(
                f"ignoring {' and '.join(found)} in {candidate}: {' and '.join(missing)} is not "
                "beside it, and the files are only read together"
            )
    for part in dataset.parts:
        if not (cache_dir() / part.filename).is_file():
            fetch.download(
                part.filename, part.urls, reporter, sha256=part.sha256, data_dir=data_dir, together=names
            )
    return cache_dir()


def _members(dataset: BuiltinDataset, source: Path) -> list[tuple[Part, Path]]:
    """Each file of `source` with the part it is: the parts of a folder, or the archive itself."""
    if dataset.companions:
        return [(part, Path(source) / part.filename) for part in dataset.parts]
    return [(dataset.parts[0], Path(source))]


def _origin(dataset: BuiltinDataset, source: Path) -> str:
    """Where the corpus was read from, as a user would look for it: the files of a folder named."""
    if dataset.companions:
        return " and ".join(str(path) for _, path in _members(dataset, source))
    return str(source)


def _fingerprint(dataset: BuiltinDataset, source: Path) -> dict:
    from rnncli.data import cache
    from rnncli.errors import DataError

    names = [part.filename for part in dataset.parts] if dataset.companions else ()
    try:
        return cache.fingerprint(source, names)
    except OSError as exc:  # raised here, not taken for a damaged cache or an unwritable one
        raise DataError(f"cannot read {source}: {exc}") from exc


def _parse(
    dataset: BuiltinDataset, source: Path, data_dir: Path | None, reporter: Reporter
) -> tuple[RawCorpus, Path]:
    """`(RawCorpus, source)`: parsed, after fetching rnncli's own download again if damaged.

    Only a download of rnncli's is fetched again, and of a corpus of several files only the one
    damaged (a parser's error names it in `path`): its companion may be the user's own file.
    """
    from rnncli.data import fetch
    from rnncli.errors import DataError, UnsafeArchiveError

    parser = importlib.import_module(f"rnncli.data.{dataset.parser}")
    for part, path in _members(dataset, source):
        if fetch.is_download(path):
            problem = fetch.check_download(path)
            if problem is not None:
                source = _fetch_again(dataset, source, part, path, problem, data_dir, reporter)
    try:
        return parser.load(source, reporter), source
    except UnsafeArchiveError:
        raise  # hostile, not damaged: fetching it again would fetch the same
    except DataError as exc:
        named = getattr(exc, "path", None)
        damaged = [
            (part, path)
            for part, path in _members(dataset, source)
            if (named is None or Path(named) == path) and fetch.is_download(path)
        ]
        if not damaged:
            raise  # the user's own copy: report it, never delete it
        for part, path in damaged:
            source = _fetch_again(dataset, source, part, path, exc.message, data_dir, reporter)
        return parser.load(source, reporter), source


def _fetch_again(
    dataset: BuiltinDataset,
    source: Path,
    part: Part,
    path: Path,
    why: str,
    data_dir: Path | None,
    reporter: Reporter,
) -> Path:
    """Replace rnncli's damaged download `path`, and return the source to read now; if that
    fails, the download stays as it was and we say so."""
    from rnncli.data import fetch

    reporter.warn(f"damaged download {path} ({why}); fetching it again")
    fetched = fetch.download(
        part.filename,
        part.urls,
        reporter,
        sha256=part.sha256,
        data_dir=data_dir,
        failure=f"{path} is damaged ({why}) and cannot be downloaded again",
        together=[p.filename for p in dataset.parts] if dataset.companions else (),
    )
    return source if dataset.companions else fetched
