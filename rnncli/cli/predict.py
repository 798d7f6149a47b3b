"""`rnncli predict`: label texts from arguments, a file or stdin, streaming in input order.

Never imports TensorFlow when the run has a LiteRT export: a cold predict answers in about a
second. When the reader of stdout goes away (`| head -1`), predict stops quietly with status 0.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer

from rnncli.cli.options import ModelOption
from rnncli.errors import InputError, UsageError

SHORT_HELP = "Label raw texts with a trained run."


def predict(
    texts: Annotated[
        Optional[list[str]],
        typer.Argument(help="Texts to classify; '-' (or piped input) reads one text per line from stdin."),
    ] = None,
    model: ModelOption = None,
    file: Annotated[Optional[Path], typer.Option("--file", help="Read one text per line from FILE.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON Lines: text, label, probability, probabilities.")
    ] = False,
    top_k: Annotated[int, typer.Option("--top-k", help="Show the K most likely labels.")] = 1,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Show which words mattered: attention weights for attention runs, occlusion otherwise.",
        ),
    ] = False,
    precision: Annotated[
        str,
        typer.Option(
            "--precision",
            help="auto: the run's int8 export where it kept one (checked within 0.1 point of float "
            "at export time); float: the float export only.",
        ),
    ] = "auto",
) -> None:
    """Label raw texts with a trained run.

    On a terminal: a table. Otherwise one line per text: LABEL<TAB>PROBABILITY (with --top-k,
    more pairs), or JSON Lines with --json.
    """
    from rnncli import runs
    from rnncli.cli.streams import require_stdout
    from rnncli.predict import Predictor

    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1, got {top_k}")
    if precision not in ("auto", "float"):
        raise UsageError(f"--precision must be auto or float, got {precision!r}")
    require_stdout()
    with contextlib.ExitStack() as stack:
        source = _inputs(texts, file, stack)
        # The run is checked before any input is read: a damaged run is named, not its input.
        predictor = Predictor(runs.open_run(model), precision=precision)
        inputs = _started(source)
        if explain:
            _explain(predictor, inputs, as_json)
        else:
            _answer(predictor, inputs, as_json, min(top_k, len(predictor.label_names)))


def _inputs(texts: list[str] | None, file: Path | None, stack: contextlib.ExitStack) -> Iterator[str]:
    """The texts to label, from exactly one source (not read yet)."""
    from rnncli.cli.streams import require_stdin
    from rnncli.predict import read_lines

    if texts and file is not None and texts != ["-"]:
        raise UsageError("give texts as arguments or --file, not both")
    if texts and "-" in texts and texts != ["-"]:
        raise UsageError("'-' reads standard input and cannot be mixed with text arguments")
    if texts and texts != ["-"]:
        inputs: Iterator[str] = iter(texts)
    elif file is not None:
        if not file.is_file():
            raise InputError(f"{file}: no such file")
        inputs = read_lines(stack.enter_context(open(file, "rb")), str(file))
    elif texts == ["-"]:
        require_stdin()
        inputs = read_lines(sys.stdin.buffer, "stdin")
    elif not _stdin_is_terminal():
        inputs = read_lines(sys.stdin.buffer, "stdin")
    else:
        raise UsageError("nothing to predict", "give texts as arguments, '-' to read stdin, or --file PATH")
    return inputs


def _started(inputs: Iterator[str]) -> Iterator[str]:
    """The texts, once the first is read: an empty source is an error, found up front."""
    first = next(inputs, None)
    if first is None:
        raise InputError("no input texts: the input is empty")
    return _chain(first, inputs)


def _stdin_is_terminal() -> bool:
    # A standard input the shell closed (`<&-`) is no more a source of texts than a terminal is.
    from rnncli.cli.streams import closed_at_start

    return "stdin" in closed_at_start or sys.stdin.isatty()


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _answer(predictor, inputs: Iterator[str], as_json: bool, k: int) -> None:
    """Labels in input order, flushed batch by batch so a pipeline sees them as they come."""
    from rnncli import lineout

    # Rich (30 ms to import) only when the output may be a terminal's: pipes get plain lines.
    console = None
    if not as_json and (
        sys.stdout.isatty() or os.environ.get("FORCE_TERMINAL") or os.environ.get("TTY_COMPATIBLE")
    ):
        from rnncli import console
    pretty = console is not None and console.out.is_terminal
    rows: list[list[str]] = []
    for batch in predictor.stream(inputs):
        if not as_json and not pretty and k == 1:
            # The label is the first of the most probable (as `sorted` below would rank it):
            # one write a batch instead of a sort, a join and a write a text.
            lineout.write_line("\n".join([f"{p.label}\t{p.probability:.4f}" for p in batch]))
            sys.stdout.flush()
            continue
        for prediction in batch:
            ranked = sorted(prediction.probabilities.items(), key=lambda kv: -kv[1])[:k]
            if as_json:
                record = _record(prediction)
                if k > 1:
                    record["top"] = [{"label": name, "probability": p} for name, p in ranked]
                lineout.json_line(record)
            elif pretty:
                rows.append([console.excerpt(prediction.text)] + [f"{name} {p:.4f}" for name, p in ranked])
            else:
                lineout.write_line("\t".join(f"{name}\t{p:.4f}" for name, p in ranked))
        sys.stdout.flush()
    if pretty and rows:
        columns = ["text", "label"] + [f"#{i}" for i in range(2, k + 1)]
        console.out.print(console.table(None, columns, rows))


def _record(prediction) -> dict[str, object]:
    return {
        "text": prediction.text,
        "label": prediction.label,
        "probability": prediction.probability,
        "probabilities": prediction.probabilities,
    }


def _explain(predictor, texts: Iterator[str], as_json: bool) -> None:
    """Each text with the weight of each word: attention weights, or occlusion."""
    from rnncli import console
    from rnncli.explain import explain

    color = console.color_enabled()
    spec = predictor.spec
    if spec.arch == "attention" and spec.attention == "luong":
        console.err.print(
            "note: the book's Luong attention spreads its weights almost evenly; a run trained "
            "with --attention pool shows which words decide (docs/results.md)",
            style="dim",
            markup=False,
        )
    for text in texts:
        explanation = explain(predictor, text)
        if as_json:
            record = _record(explanation.prediction)
            record.update({"method": explanation.method, "weights": explanation.pairs()})
            console.json_line(record)
        else:
            for line in console.explanation_lines(explanation, color):
                if isinstance(line, str):
                    console.write_line(line) if not color else console.out.print(line, markup=False)
                else:
                    console.out.print(line)
        sys.stdout.flush()
