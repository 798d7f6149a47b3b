"""Use case: a run's model as an artifact another serving stack runs as it is.

- `saved-model`: a TensorFlow SavedModel whose serving signature takes raw strings, with the
  whole preprocessing in the graph (`rnncli.models.savedmodel`);
- `tflite`, `keras`: the files the run already has, with what encoding needs beside them
  (`vocab.json`, the tokenizer's file, and `preprocessing.json` saying how ids are made).

The folder is written beside its destination and renamed into place, so a failed export leaves
nothing half-written, and an existing non-empty folder is never written into.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rnncli import runs
from rnncli.errors import UsageError
from rnncli.runs import RunInfo

FORMATS = ("saved-model", "tflite", "keras")
#: Written beside copied model files: what a reimplementation of the encoding needs to know.
PREPROCESSING = "preprocessing.json"


def export_run(run_path: Path | None, fmt: str, out: Path) -> list[str]:
    """Write the run at `run_path` (None: the latest) in format `fmt` to the new folder `out`.

    Returns the file names written; the format and the folder are checked before the run is.
    """
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} already exists and is not an empty folder", "name a new folder with --out")
    from rnncli.predict import Predictor

    run = runs.open_run(run_path)
    if fmt == "saved-model":
        from rnncli.models.savedmodel import check_tokenizer

        entry = run.config.get("tokenizer")
        check_tokenizer(entry.get("name", "words") if isinstance(entry, dict) else "words")
    predictor = Predictor(run, prefer_litert=False) if fmt == "saved-model" else None
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if predictor is not None:
            _saved_model(predictor, staging)
        else:
            _copy_files(run, fmt, staging)
        names = sorted(str(p.relative_to(staging)) for p in staging.iterdir())
        if out.exists():
            out.rmdir()  # empty, checked above
        staging.rename(out)
        return names
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _saved_model(predictor, folder: Path) -> None:
    from rnncli.models import savedmodel

    model = predictor.keras_model
    words = predictor.encoder.vocabulary_words
    label_names = list(predictor.label_names)
    savedmodel.export(model, words, predictor.tokenizer.name, predictor.spec.maxlen, label_names, folder)


def _copy_files(run: RunInfo, fmt: str, folder: Path) -> None:
    from rnncli.inference import exports
    from rnncli.text import INDEX_FROM, OOV, START

    if fmt == "tflite":
        models = [*exports(run.path, int8=False).values(), *exports(run.path, int8=True).values()]
        if not models:
            raise UsageError(f"{run.path} has no LiteRT export", "export --format keras or saved-model")
    else:
        models = [run.path / runs.MODEL]
    tokenizer = run.config.get("tokenizer") or {"name": "words"}
    extra = (
        [run.path / str(tokenizer["file"])] if isinstance(tokenizer, dict) and tokenizer.get("file") else []
    )
    for path in [*models, run.path / runs.VOCAB, *extra]:
        shutil.copy2(path, folder / path.name)
    spec = run.config.get("model", {})
    runs.write_json(
        folder / PREPROCESSING,
        {
            "tokenizer": tokenizer,
            "maxlen": spec.get("maxlen"),
            "num_words": spec.get("num_words"),
            "label_names": run.label_names,
            "ids": {"padding": 0, "start": START, "unknown": OOV, "rank_offset": INDEX_FROM},
            "padding": "pre",
            "truncating": "pre",
            "how": "docs/serving.md (Exporting a run)",
        },
    )
