"""The `rnncli` command: parse arguments, call the library, render, exit with a code.

One module per command (or, as they come, per command group); shared options in `options.py`;
exit statuses in `exits.py`. Nothing here imports TensorFlow or NumPy at module level, so
`--help` and argument errors answer at once; each command imports what it needs when it runs.

Exit codes (`exits.py`): 0 success, 1 runtime failure, 2 usage error, 130 interrupted,
143 terminated.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from rnncli import __version__
from rnncli.cli import evaluate, exits, export, predict, runs, serve, summary, train, tune

app = typer.Typer(
    name="rnncli",
    help="Train, evaluate and serve recurrent text classifiers (the book's RNN chapter as a tool).",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnncli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    if debug:
        os.environ["RNNCLI_DEBUG"] = "1"


# Short help lines fit `rnncli --help` at 80 columns; each module's docstring says the rest.
app.command(short_help=train.SHORT_HELP)(train.train)
app.command(short_help=evaluate.SHORT_HELP)(evaluate.evaluate)
app.command(short_help=predict.SHORT_HELP)(predict.predict)
app.command(short_help=summary.SHORT_HELP)(summary.summary)
app.command(short_help=export.SHORT_HELP)(export.export)
app.command(short_help=serve.SHORT_HELP)(serve.serve)
app.command(short_help=tune.SHORT_HELP)(tune.tune)
app.add_typer(runs.app, name="runs", short_help=runs.SHORT_HELP)


def main(argv: list[str] | None = None) -> None:
    """Entry point (`rnncli`, `python -m rnncli`): every failure becomes one line on stderr and a code."""
    exits.main(typer.main.get_command(app), argv)


__all__ = ["app", "main"]
