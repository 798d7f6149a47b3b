"""`rnncli evaluate`: a run's test metrics, per class, and its most frequent confusions.

On a terminal it shows as well as tells: an F1 bar beside each class and the confusion matrix as
a heat map (with many classes, only the ones most often confused: 46 x 46 cells say nothing at a
glance). Piped, it prints plain text: the figures, then tab-separated rows. `--json` is one object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from rnncli.cli.options import DataDir, JsonFlag, ModelOption
from rnncli.errors import UsageError

SHORT_HELP = "Test loss and accuracy of a run, per class and overall."

#: Up to this many classes the heat map shows them all; beyond, the most confused of them.
FULL_MATRIX_CLASSES = 10
MOST_CONFUSED_SHOWN = 8


def evaluate(
    run: Annotated[
        Optional[Path],
        typer.Argument(
            help="Run directory, as --model [default: the latest complete run].", show_default=False
        ),
    ] = None,
    model: ModelOption = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
    plot: Annotated[
        Optional[bool],
        typer.Option(
            "--plot/--no-plot",
            help="Draw F1 bars and the confusion heat map [default: only on a terminal].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Test loss and accuracy of a run, per class and overall.

    With several classes, also precision, recall and F1 per class, macro-F1, and the most
    frequent confusions. The run is named as predict names it (--model) or as an argument.
    On a terminal, an F1 bar per class and the confusion matrix as a heat map (beyond 10
    classes, the 8 most confused); piped, plain text with tab-separated rows.
    """
    from rnncli import console, runs
    from rnncli.cli.streams import require_stdout
    from rnncli.evaluation import evaluate as run_evaluation
    from rnncli.evaluation import record

    if run is not None and model is not None:
        raise UsageError("give the run as an argument or as --model, not both")
    require_stdout()
    chosen = runs.open_run(model if model is not None else run)
    report = run_evaluation(chosen, data_dir, console.RichReporter())
    record(report)  # `rnncli runs` lists the macro-F1 of evaluated runs
    if as_json:
        console.write_line(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    pictures = console.out.is_terminal if plot is None else plot
    if console.out.is_terminal or pictures:
        _print_report(report, pictures)
    else:
        _print_plain(report)


def _headline(report) -> list[str]:
    return [
        f"Run: {report.run}",
        f"Test loss: {report.test_loss:.4f}",
        f"Test Accuracy: {report.test_accuracy:.4f}",
        f"Macro-F1: {report.macro_f1:.4f}  ({report.count} test texts)",
    ]


def _class_rows(report) -> list[list[str]]:
    return [
        [c.name, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", str(c.support)]
        for c in report.classes
    ]


def _print_plain(report) -> None:
    """For a pipe: the figures, then the per-class and confusion rows tab-separated, with headers."""
    from rnncli import console

    for line in _headline(report):
        console.write_line(line)
    console.write_line("")
    console.rows_out(None, ["class", "precision", "recall", "F1", "support"], _class_rows(report))
    if report.confusions:
        console.write_line("")
        console.rows_out(None, ["true", "predicted", "count"], [[t, p, n] for t, p, n in report.confusions])


def _print_report(report, pictures: bool) -> None:
    """Rich tables; with `pictures`, an F1 bar per class and the confusion heat map."""
    from rnncli import console, plots

    for line in _headline(report):
        console.out.print(line, markup=False)
    color = console.color_enabled()
    rows = _class_rows(report)
    columns = ["class", "precision", "recall", "F1", "support"]
    if pictures:
        columns.append("F1 bar")
        rows = [[*row, plots.bar(c.f1, 20, color)] for row, c in zip(rows, report.classes)]
    console.out.print(console.table("Per class", columns, rows, {1, 2, 3, 4}))
    matrix = getattr(report, "matrix", None)
    shown = most_confused(matrix) if pictures and matrix is not None and len(report.classes) > 1 else []
    if shown:
        names = [c.name for c in report.classes]
        if len(shown) == len(names):
            title = "Confusion matrix (rows: true class, columns: predicted)"
        else:
            title = f"The {len(shown)} most confused of {len(names)} classes (rows: true, columns: predicted)"
        sub = [[matrix[i][j] for j in shown] for i in shown]
        console.out.print(plots.heat_map(title, [names[i] for i in shown], sub, color))
    if report.confusions:
        rows = [[t, p, str(n)] for t, p, n in report.confusions]
        console.out.print(
            console.table("Most frequent confusions", ["true", "predicted", "count"], rows, {2})
        )


def most_confused(matrix: list[list[int]]) -> list[int]:
    """The classes worth a heat map: all of a few; of many, those of the largest mistakes.

    The off-diagonal cells are taken largest first, each adding its true and its predicted
    class, until the map is full: so every confusion the map leaves out is no larger than the
    smallest it shows. Kept in class order, so the diagonal stays the diagonal.
    """
    size = len(matrix)
    if size <= FULL_MATRIX_CLASSES:
        return list(range(size))
    cells = [(matrix[i][j], i, j) for i in range(size) for j in range(size) if i != j and matrix[i][j]]
    chosen: list[int] = []
    for _, true, predicted in sorted(cells, key=lambda cell: -cell[0]):
        for index in (true, predicted):
            if index not in chosen and len(chosen) < MOST_CONFUSED_SHOWN:
                chosen.append(index)
        if len(chosen) >= MOST_CONFUSED_SHOWN:
            break
    return sorted(chosen)
