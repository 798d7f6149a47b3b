"""On-disk cache of encoded corpora, so a second load takes seconds instead of a parse.

Stored as an uncompressed `.npz` of plain arrays (never pickles), written atomically; a file
that is truncated, corrupt or of another preprocessing version is rebuilt, not trusted.

Each cache records the source it was parsed from (its resolved path, size and modification
time), and serves only that source: naming another `--data-dir`, or changing the archive,
rebuilds it, so the cache can never stand in for a folder it was not made from.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnncli.atomic import atomic_open
from rnncli.data.corpus import EncodedCorpus, Sequences
from rnncli.data.locations import cache_dir
from rnncli.text import PREPROCESSING_VERSION, Vocabulary


def cache_path(dataset: str, tokenizer: str = "words") -> Path:
    """One prepared corpus per dataset and tokenizer (the book's `words` keeps its old name)."""
    kind = "" if tokenizer == "words" else f"-{tokenizer}"
    return cache_dir() / "prepared" / f"{dataset}{kind}-v{PREPROCESSING_VERSION}.npz"


class StaleCache(Exception):
    """A sound cache file made from another source than the one asked for: rebuild it quietly."""


def fingerprint(source: Path, names: Sequence[str] = ()) -> dict:
    """What identifies a corpus source: its resolved path, and its size and modification time.

    For an extracted folder, the names, sizes and times of every file under it, hashed. With
    `names` (a corpus published as several files, such as NSMC's), only those files of the folder
    count: they may lie in a data folder among much else, which need not be walked and whose other
    changes must not rebuild the cache.
    """
    source = Path(source).resolve()
    if names:
        stats = {name: (source / name).stat() for name in names}
        files = {name: [stat.st_size, stat.st_mtime_ns] for name, stat in stats.items()}
        return {"path": str(source), "members": files}
    if source.is_dir():
        digest = hashlib.sha256()
        count = 0
        for folder, dirs, files in os.walk(source):
            dirs.sort()
            for name in sorted(files):
                stat = os.stat(os.path.join(folder, name))
                relative = os.path.relpath(os.path.join(folder, name), source)
                digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "replace"))
                count += 1
        return {"path": str(source), "files": count, "listing": digest.hexdigest()}
    stat = source.stat()
    return {"path": str(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def save(corpus: EncodedCorpus, path: Path, source: dict | None = None) -> None:
    """Write the cache; `source` is the `fingerprint` of what `corpus` was parsed from."""
    meta = {
        "name": corpus.name,
        "label_names": list(corpus.label_names),
        "preprocessing_version": PREPROCESSING_VERSION,
        "source": source,
        "tokenizer": corpus.tokenizer.name,
    }
    # A learned tokenizer (SentencePiece's model) travels with the ids it produced.
    model = getattr(corpus.tokenizer, "model", None) or b""
    with atomic_open(path, "wb") as handle:
        np.savez(
            handle,
            meta=np.array(json.dumps(meta)),
            tokenizer_model=np.frombuffer(model, dtype=np.uint8),
            words=np.array(corpus.vocabulary.words, dtype=str),
            train_flat=corpus.train.flat,
            train_offsets=corpus.train.offsets,
            train_labels=corpus.train_labels,
            test_flat=corpus.test.flat,
            test_offsets=corpus.test.offsets,
            test_labels=corpus.test_labels,
        )


def load(path: Path, source: dict | None = None) -> EncodedCorpus:
    """Raise `ValueError` (or an OS error) for anything but a complete, current cache file.

    With `source` (a `fingerprint`), raise `StaleCache` if the file was made from another
    source; that is checked first, from the small `meta` member alone.

    The zip format's CRC-32 of every member is the checksum: reading each member in full makes
    `zipfile` verify it, so a flipped byte is caught as surely as a truncation.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            version = meta.get("preprocessing_version")
            if source is not None and meta.get("source") != source:
                raise StaleCache(f"made from {meta.get('source')}, not {source}")
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, StaleCache):
        raise
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a valid cache file: {exc}") from exc
    if version != PREPROCESSING_VERSION:
        raise ValueError("made by another preprocessing version")
    try:
        train = Sequences(arrays["train_flat"], arrays["train_offsets"])
        test = Sequences(arrays["test_flat"], arrays["test_offsets"])
        for part, labels in ((train, arrays["train_labels"]), (test, arrays["test_labels"])):
            if len(part) != len(labels) or part.offsets[-1] != len(part.flat):
                raise ValueError("inconsistent arrays")
        return EncodedCorpus(
            meta["name"],
            tuple(meta["label_names"]),
            Vocabulary(tuple(str(w) for w in arrays["words"])),
            train,
            arrays["train_labels"],
            test,
            arrays["test_labels"],
            _tokenizer(meta.get("tokenizer", "words"), arrays.get("tokenizer_model")),
        )
    except (KeyError, IndexError, TypeError, RuntimeError) as exc:
        raise ValueError(f"not a valid cache file: {exc}") from exc


def _tokenizer(name: str, model: np.ndarray | None):
    from rnncli import tokenizers

    if tokenizers.is_learned(name):
        if model is None or not len(model):
            raise ValueError("a subword corpus without its tokenizer model")
        return tokenizers.from_model(name, model.tobytes())
    return tokenizers.make(name)
