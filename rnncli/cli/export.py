"""`rnncli export`: a run as an artifact another serving stack runs (docs/serving.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

SHORT_HELP = "Write a run as a SavedModel that takes raw strings, or its LiteRT/Keras files."


def export(
    run: Annotated[
        Optional[Path], typer.Argument(help="Run directory [default: the latest complete run].")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="saved-model (raw strings in, preprocessing in the graph; words and chars runs), "
            "tflite or keras (the run's files, with vocab.json and preprocessing.json).",
        ),
    ] = "saved-model",
    out: Annotated[Path, typer.Option("--out", help="A new (or empty) folder to write.")] = Path("export"),
) -> None:
    """Write a run as a SavedModel that takes raw strings, or its LiteRT/Keras files.

    The SavedModel's serving signature takes a batch of strings and returns `probabilities`,
    `label` and `label_names`: TensorFlow Serving or `tf.saved_model.load` serve it with no
    rnncli installed.
    """
    from rnncli.exporting import export_run
    from rnncli.lineout import write_line

    names = export_run(run, fmt, out)
    write_line(f"{out}: {', '.join(names)}")
