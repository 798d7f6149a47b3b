"""A run's `config.json`: written once when the run starts, read back to resume it."""

from __future__ import annotations

import platform
import time
from dataclasses import fields
from pathlib import Path

import rnncli
from rnncli import runs
from rnncli.data.corpus import EncodedCorpus
from rnncli.data.usersource import UserSource
from rnncli.distribute import StrategyInfo
from rnncli.errors import RunError
from rnncli.models.registry import ModelSpec
from rnncli.settings import TrainSettings
from rnncli.text import PREPROCESSING_VERSION
from rnncli.training.data import Arrays


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version(), "rnncli": rnncli.__version__}
    for name in ("tensorflow", "keras", "numpy"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "unknown"
    return found


def write_config(
    settings: TrainSettings,
    spec: ModelSpec,
    corpus: EncodedCorpus,
    arrays: Arrays,
    run_dir: Path,
    seed: int,
    info: StrategyInfo,
) -> None:
    """Everything needed to rebuild, re-encode and resume the run, plus the vocabulary beside it."""
    config = {
        "rnncli_version": rnncli.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "dataset": settings.name,
        "source": settings.source.to_dict() if settings.source else None,
        "model": spec.to_dict(),
        # `deterministic` records whether the seed was given (op determinism on) or drawn.
        "training": {**settings.to_dict(), "seed": seed, "deterministic": settings.seed is not None},
        "label_names": list(corpus.label_names),
        # How texts became tokens; `predict` splits its input the same way (`rnncli.tokenizers`).
        "tokenizer": corpus.tokenizer.save(run_dir),
        "preprocessing_version": PREPROCESSING_VERSION,
        "packages": package_versions(),
        "counts": arrays.counts(settings.validate_on_test),
        "distribution": info.to_dict(),
    }
    runs.write_json(run_dir / runs.CONFIG, config)
    corpus.vocabulary.truncated(settings.num_words).save(run_dir / runs.VOCAB)


def settings_from_config(config: dict, run_dir: Path) -> tuple[TrainSettings, int, bool]:
    """The run's `TrainSettings`, its seed, and whether that seed was given (determinism on)."""
    training = config.get("training")
    if not isinstance(training, dict) or "seed" not in training:
        raise RunError(f"{run_dir / runs.CONFIG} has no usable 'training' section", "it cannot be resumed")
    if config.get("preprocessing_version") != PREPROCESSING_VERSION:
        raise RunError(
            f"run {run_dir} was made with preprocessing version {config.get('preprocessing_version')}, "
            f"this rnncli uses {PREPROCESSING_VERSION}",
            "train a new run",
        )
    known = {f.name for f in fields(TrainSettings)}
    values = {key: value for key, value in training.items() if key in known}
    source = values.get("source")
    try:
        values["source"] = UserSource.from_config(source) if isinstance(source, dict) else None
        values["out"] = Path(values["out"]) if values.get("out") else None
        values["data_dir"] = Path(values["data_dir"]) if values.get("data_dir") else None
        settings = TrainSettings(**values)
        seed = int(training["seed"])
    except (TypeError, ValueError) as exc:
        raise RunError(f"{run_dir / runs.CONFIG}: bad 'training' section ({exc})") from exc
    return settings, seed, bool(training.get("deterministic", True))
