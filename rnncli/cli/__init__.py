"""The `rnncli` command: parse arguments, call the library, render, exit with a code.

One module per command (or, as they come, per command group); shared options in `options.py`;
exit statuses in `exits.py`. Nothing here imports TensorFlow or NumPy at module level, so
`--help` and argument errors answer at once; each command imports what it needs when it runs.

Exit codes (`exits.py`): 0 success, 1 runtime failure, 2 usage error, 130 interrupted,
143 terminated.
"""

from __future__ import annotations

import itertools
import os
import sys
from typing import Annotated

import typer

from rnncli import __version__
from rnncli.cli import evaluate, exits, export, predict, runs, serve, summary, train, tune

_SETTINGS = dict(
    name="rnncli",
    help="Train, evaluate and serve recurrent text classifiers (the book's RNN chapter as a tool).",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app = typer.Typer(**_SETTINGS)


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
COMMANDS = {
    "train": train,
    "evaluate": evaluate,
    "predict": predict,
    "summary": summary,
    "export": export,
    "serve": serve,
    "tune": tune,
}
for _name, _module in COMMANDS.items():
    app.command(short_help=_module.SHORT_HELP)(getattr(_module, _name))
app.add_typer(runs.app, name="runs", short_help=runs.SHORT_HELP)


def _group_for(args: list[str]):
    """The click group that runs `args`: for a plain command, one holding just that command.

    Typer turns every command's signature into click parameters before parsing anything (20 ms
    for all of them); a group of one does the same parse, usage lines, errors and help for
    that command, and that time is every `predict`'s. `rnncli --help`, completion, `runs`,
    misspelt commands and anything but `--debug` before the command get the whole app.
    """
    before = list(itertools.takewhile(lambda arg: arg == "--debug", args))
    name = args[len(before)] if len(before) < len(args) else None
    # Anything else before the name (`--help`, `--`, a typo) is the root's to answer, and its
    # answers name every command (the root help's list, "Did you mean").
    if name not in COMMANDS or "_RNNCLI_COMPLETE" in os.environ:
        return typer.main.get_command(app)
    single = typer.Typer(**_SETTINGS)
    single.callback()(_root)
    single.command(short_help=COMMANDS[name].SHORT_HELP)(getattr(COMMANDS[name], name))
    return typer.main.get_command(single)


def main(argv: list[str] | None = None) -> None:
    """Entry point (`rnncli`, `python -m rnncli`): every failure becomes one line on stderr and a code."""
    exits.main(_group_for(sys.argv[1:] if argv is None else argv), argv)


__all__ = ["app", "main"]
