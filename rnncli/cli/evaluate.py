"""`rnncli evaluate`: a run's test metrics, per class, and its most frequent confusions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from rnncli.cli.options import DataDir, JsonFlag, ModelOption
from rnncli.errors import UsageError

SHORT_HELP = "Test loss and accuracy of a run, per class and overall."


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
) -> None:
    """Test loss and accuracy of a run, per class and overall.

    With several classes, also precision, recall and F1 per class, macro-F1, and the most
    frequent confusions. The run is named as predict names it (--model) or as an argument.
    """
    from rnncli import console, runs
    from rnncli.cli.streams import require_stdout
    from rnncli.evaluation import evaluate as run_evaluation

    if run is not None and model is not None:
        raise UsageError("give the run as an argument or as --model, not both")
    require_stdout()
    chosen = runs.open_run(model if model is not None else run)
    report = run_evaluation(chosen, data_dir, console.RichReporter())
    if as_json:
        console.write_line(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    _print_report(report)


def _print_report(report) -> None:
    from rnncli import console

    console.out.print(f"Run: {report.run}")
    console.out.print(f"Test loss: {report.test_loss:.4f}")
    console.out.print(f"Test Accuracy: {report.test_accuracy:.4f}")
    console.out.print(f"Macro-F1: {report.macro_f1:.4f}  ({report.count} test texts)")
    rows = [
        [c.name, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", str(c.support)]
        for c in report.classes
    ]
    console.out.print(
        console.table("Per class", ["class", "precision", "recall", "F1", "support"], rows, {1, 2, 3, 4})
    )
    if report.confusions:
        rows = [[t, p, str(n)] for t, p, n in report.confusions]
        console.out.print(
            console.table("Most frequent confusions", ["true", "predicted", "count"], rows, {2})
        )
