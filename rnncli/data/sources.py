"""One entry point for any corpus: a built-in dataset by name, or a user's file or folder."""

from __future__ import annotations

from pathlib import Path

from rnncli.data import builtin
from rnncli.data.corpus import EncodedCorpus
from rnncli.data.usersource import UserSource
from rnncli.errors import RunError
from rnncli.progress import Reporter


def load_corpus(
    dataset: str,
    source: UserSource | None,
    seed: int,
    data_dir: Path | None = None,
    reporter: Reporter | None = None,
    tokenizer: str = "words",
) -> EncodedCorpus:
    """The encoded corpus; `seed` draws a user corpus's test split when it has no test file."""
    return load_corpus_with_origin(dataset, source, seed, data_dir, reporter, tokenizer)[0]


def load_corpus_with_origin(
    dataset: str,
    source: UserSource | None,
    seed: int,
    data_dir: Path | None = None,
    reporter: Reporter | None = None,
    tokenizer: str = "words",
) -> tuple[EncodedCorpus, str]:
    """The encoded corpus and where it was read from, for a user to check it is the one meant.

    `tokenizer` names how texts become tokens (`rnncli.tokenizers`); a built-in corpus is
    cached once per tokenizer.
    """
    if source is not None:
        from rnncli.data import userfiles

        files = [str(Path(name).resolve()) for name in (source.path, source.test_path) if name]
        return userfiles.load(source, seed, reporter, tokenizer), " and ".join(files)
    return builtin.load_with_origin(dataset, data_dir, reporter, tokenizer=tokenizer)


def source_from_config(config: dict) -> UserSource | None:
    """The user's corpus a run was trained on, or None for a built-in dataset."""
    training = config.get("training")
    payload = config.get("source") or (training.get("source") if isinstance(training, dict) else None)
    if not payload:
        return None
    try:
        return UserSource.from_config(payload)
    except TypeError as exc:  # not an object, or fields this rnncli does not know
        raise RunError(f"the run's config.json has a bad 'source' section ({exc})") from None
