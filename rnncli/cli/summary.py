"""`rnncli summary`: a model's layers and parameter counts, for settings or for a saved run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from rnncli.cli.options import JsonFlag
from rnncli.data.builtin import DATASETS
from rnncli.models.registry import ARCHITECTURES

SHORT_HELP = "A model's layers and parameter counts, without training."


def summary(
    arch: Annotated[
        Optional[str],
        typer.Option(help=f"Architecture: {', '.join(ARCHITECTURES)} [default: the dataset's]."),
    ] = None,
    dataset: Annotated[
        Optional[str],
        typer.Option(help=f"Dataset whose defaults apply: {', '.join(DATASETS)} [default: imdb]."),
    ] = None,
    run: Annotated[
        Optional[Path], typer.Option("--run", help="Describe a saved run's model instead.")
    ] = None,
    num_words: Annotated[
        Optional[int], typer.Option(help="Vocabulary size [default: the dataset's].")
    ] = None,
    maxlen: Annotated[Optional[int], typer.Option(help="Tokens per text [default: the dataset's].")] = None,
    embedding_dim: Annotated[
        Optional[int], typer.Option(help="Embedding width [default: the arch's].")
    ] = None,
    units: Annotated[Optional[int], typer.Option(help="Recurrent units [default: the arch's].")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A model's layers and parameter counts, without training.

    As Keras's model.summary() shows them: for the settings given (the dataset's and the
    architecture's defaults otherwise), or for a saved run's model with --run.
    """
    from rnncli import console
    from rnncli.cli.streams import require_stdout

    require_stdout()
    if run is not None:
        title, result = _of_run(run)
    else:
        widths = {"num_words": num_words, "maxlen": maxlen, "embedding_dim": embedding_dim, "units": units}
        title, result = _of_settings(dataset or "imdb", arch=arch, **widths)
    if as_json:
        console.write_line(json.dumps(result.to_dict()))
        return
    rows = [[r.name, r.type, r.output_shape, f"{r.params:,}"] for r in result.layers]
    console.out.print(console.table(title, ["Layer", "Type", "Output shape", "Params"], rows, {3}))
    console.out.print(f"Total params: {result.total_params:,}")
    console.out.print(f"Trainable params: {result.trainable_params:,}")
    console.out.print(f"Non-trainable params: {result.non_trainable_params:,}")


def _of_run(run: Path):
    from rnncli import runs
    from rnncli.models import persist
    from rnncli.predict import spec_of
    from rnncli.summary import summarize_model

    info = runs.open_run(run)
    spec = spec_of(info)
    result = summarize_model(persist.load(info.path / runs.MODEL, spec), spec.arch)
    return f"{spec.arch} from {info.path}", result


def _of_settings(name: str, **overrides: object):
    from rnncli import settings
    from rnncli.data.builtin import get as get_dataset
    from rnncli.summary import summarize

    resolved = settings.resolve(name, **overrides)
    if resolved.source is not None:
        from rnncli.data.userfiles import count_classes

        classes = count_classes(resolved.source)
    else:
        classes = get_dataset(name).num_classes
    result = summarize(settings.model_spec(resolved, classes))
    return f"{resolved.arch} on {resolved.name}", result
