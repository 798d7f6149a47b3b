"""On-disk cache of encoded corpora, so a second load takes seconds instead of a parse.

Stored as an uncompressed `.npz` of plain arrays (never pickles), written atomically; a file
that is truncated, corrupt or of another preprocessing version is rebuilt, not trusted.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from rnncli.atomic import atomic_open
from rnncli.data.corpus import EncodedCorpus, Sequences
from rnncli.data.locations import cache_dir
from rnncli.text import PREPROCESSING_VERSION, Vocabulary


def cache_path(dataset: str) -> Path:
    return cache_dir() / "prepared" / f"{dataset}-v{PREPROCESSING_VERSION}.npz"


def save(corpus: EncodedCorpus, path: Path) -> None:
    meta = {
        "name": corpus.name,
        "label_names": list(corpus.label_names),
        "preprocessing_version": PREPROCESSING_VERSION,
    }
    with atomic_open(path, "wb") as handle:
        np.savez(
            handle,
            meta=np.array(json.dumps(meta)),
            words=np.array(corpus.vocabulary.words, dtype=str),
            train_flat=corpus.train.flat,
            train_offsets=corpus.train.offsets,
            train_labels=corpus.train_labels,
            test_flat=corpus.test.flat,
            test_offsets=corpus.test.offsets,
            test_labels=corpus.test_labels,
        )


def load(path: Path) -> EncodedCorpus:
    """Raise `ValueError` (or an OS error) for anything but a complete, current cache file.

    The zip format's CRC-32 of every member is the checksum: reading each member in full makes
    `zipfile` verify it, so a flipped byte is caught as surely as a truncation.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        meta = json.loads(str(arrays["meta"]))
        version = meta.get("preprocessing_version")
    except OSError:
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
        )
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"not a valid cache file: {exc}") from exc
