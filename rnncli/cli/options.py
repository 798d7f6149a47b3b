"""Option declarations shared by several commands, and the help text built from the defaults.

One place for `--data-dir`, `--model`, `--json` and `--plot`, so every command spells them, checks
them and documents them alike. Only light modules are imported here: `--help` must stay instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from rnncli.models.registry import ARCHITECTURES
from rnncli.settings import DATASET_DEFAULTS, PRESETS


def per_dataset(field: str) -> str:
    """`reuters 1000, imdb 5000, ...`: a default that depends on the dataset, for help texts."""
    return ", ".join(f"{name} {_shown(getattr(d, field), field)}" for name, d in DATASET_DEFAULTS.items())


def per_arch(field: str) -> str:
    """`lstm 128, cnn-lstm 32, ...`: a default that depends on the architecture, for help texts."""
    return ", ".join(f"{name} {getattr(a, field)}" for name, a in ARCHITECTURES.items())


def presets_help() -> str:
    """Every preset of every dataset with its one-line description, for `train --help`."""
    return "; ".join(
        f"{dataset}: " + ", ".join(f"{name} ({preset.description})" for name, preset in presets.items())
        for dataset, presets in PRESETS.items()
    )


def _shown(value: object, field: str) -> str:
    # A flag's default reads as the flag a user would type, never as a Python literal.
    if isinstance(value, bool):
        return f"--{field}" if value else f"--no-{field}"
    return str(value)


#: A folder the user names must exist: never a silent fall-back to the cache and a download.
DataDir = Annotated[
    Optional[Path],
    typer.Option(
        "--data-dir",
        exists=True,
        file_okay=False,
        dir_okay=True,
        help="Folder holding the corpus archives [default: $RNNCLI_DATA, then the cache, then a download].",
    ),
]

#: The run a command reads; `evaluate` also takes it as a positional argument.
ModelOption = Annotated[
    Optional[Path], typer.Option("--model", help="Run directory [default: the latest complete run].")
]

#: One JSON object (or JSON Lines) on stdout instead of a table.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]

#: The loss chart after training (and after a resumed run).
PlotFlag = Annotated[bool, typer.Option("--plot/--no-plot", help="Draw the loss chart at the end.")]


#: Options that only describe the user's own data file, shared by `train` and `tune`.
TextCol = Annotated[Optional[str], typer.Option(help="Your data: text column or JSON key [default: text].")]
LabelCol = Annotated[
    Optional[str], typer.Option(help="Your data: label column or JSON key [default: label].")
]
TestFile = Annotated[
    Optional[Path], typer.Option(help="Your data: a separate test file [default: split off --test-split].")
]
TestSplit = Annotated[Optional[float], typer.Option(help="Your data: stratified test share [default: 0.2].")]
Encoding = Annotated[
    Optional[str], typer.Option(help="Your data: text encoding [default: utf-8, BOM or not].")
]
Format = Annotated[
    Optional[str],
    typer.Option(
        "--format",
        help="Your data: csv, tsv or jsonl [default: from the suffix; .txt and pipes by their first line].",
    ),
]
TsvQuotes = Annotated[
    Optional[bool],
    typer.Option(
        "--tsv-quotes/--no-tsv-quotes",
        help='Your data: read "..." in TSV files as quoting, as CSV does [default: no: in TSV '
        'files as they come (NSMC, most exports) a " is text].',
    ),
]


def user_source(dataset: str, options: dict[str, object]):
    """The `UserSource` the your-data options describe, or None for a built-in dataset (which
    refuses them)."""
    from rnncli import settings
    from rnncli.errors import UsageError

    file_options = {
        "text_col": options["text_col"],
        "label_col": options["label_col"],
        "test_path": str(options["test"]) if options["test"] else None,
        "test_split": options["test_split"],
        "encoding": options["encoding"],
        "format": options["format"],
        "tsv_quotes": options["quotes"],
    }
    source = settings.user_source(dataset, **file_options)
    if source is None and any(value is not None for value in file_options.values()):
        raise UsageError(
            "--text-col, --label-col, --test, --test-split, --encoding, --format and --tsv-quotes "
            "apply to your own data files",
            f"{dataset} is a built-in dataset",
        )
    return source
