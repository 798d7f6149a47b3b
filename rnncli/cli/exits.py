"""From a command's outcome to an exit status: every failure is one line on stderr and a code.

Exit codes: 0 success (also when the reader of stdout goes away, as `head` does: what it read
was right, and `set -o pipefail` scripts should not fail on it), 1 runtime failure, 2 usage
error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM while training); an `RnncliError`
carries its own code.

The command is run with `make_context`/`invoke` rather than Click's `main()`, because `main()`
turns a closed pipe into `sys.exit(1)` with no message before rnncli can see it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from rnncli.cli import streams
from rnncli.errors import RnncliError

PROG = "rnncli"
#: Set by the completion scripts of `--install-completion`; Typer then answers and exits.
COMPLETE_VAR = "_RNNCLI_COMPLETE"


def error(message: str) -> None:
    """`rnncli: error: MESSAGE` on stderr; never a second failure if stderr is gone too."""
    try:
        sys.stderr.write(f"{PROG}: error: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def run(command: typer.main.TyperGroup, args: Sequence[str], debug: bool) -> int:
    """Run the command line `args` and return the exit status; nothing escapes as a traceback."""
    try:
        return _invoke(command, list(args))
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:
        return _parse_error(exc)
    except typer.Abort:
        error("aborted")
        return 130
    except RnncliError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`| head -1`): stop quietly, as Unix filters do, and with success,
        # since everything it read was right; later writes (and the final flush) go to /dev/null.
        _stdout_to_devnull()
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if debug:
            raise
        error(f"unexpected {type(exc).__name__}: {exc} (run with --debug for a traceback)")
        return 1


def _invoke(command: typer.main.TyperGroup, args: list[str]) -> int:
    if os.environ.get(COMPLETE_VAR):
        command.main(args=args, prog_name=PROG, complete_var=COMPLETE_VAR, standalone_mode=False)
        return 0
    with command.make_context(PROG, args) as ctx:
        result = command.invoke(ctx)
    return result if isinstance(result, int) else 0


def _parse_error(exc: typer.TyperException) -> int:
    """Typer's own (vendored Click) parse errors: one line, exit 2 for usage mistakes."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        sys.stdout.write(ctx.get_help() + "\n")
        return 0
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    error(f"{exc.format_message()}{where}")
    return getattr(exc, "exit_code", 2)


def _stdout_to_devnull() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(command: typer.main.TyperGroup, argv: list[str] | None = None) -> None:
    """Entry point behind `rnncli.cli:main`: run, then exit with the status."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(os.environ.get("RNNCLI_DEBUG"))
    streams.open_closed_streams()
    sys.exit(run(command, args, debug))
