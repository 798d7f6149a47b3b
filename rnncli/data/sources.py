"""One entry point for any corpus: a built-in dataset by name, or a user's file or folder."""

from __future__ import annotations

from pathlib import Path

from rnncli.data import builtin
from rnncli.data.corpus import EncodedCorpus
from rnncli.data.usersource import UserSource
from rnncli.progress import Reporter


def load_corpus(
    dataset: str,
    source: UserSource | None,
    seed: int,
    data_dir: Path | None = None,
    reporter: Reporter | None = None,
) -> EncodedCorpus:
    """The encoded corpus; `seed` draws a user corpus's test split when it has no test file."""
    if source is not None:
        from rnncli.data import userfiles

        return userfiles.load(source, seed, reporter)
    return builtin.load(dataset, data_dir, reporter)


def source_from_config(config: dict) -> UserSource | None:
    payload = config.get("source") or config.get("training", {}).get("source")
    return UserSource(**payload) if payload else None
