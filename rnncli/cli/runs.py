"""`rnncli runs`: which runs there are and how each went; show, compare and remove them.

`rnncli runs` lists the runs root ($RNNCLI_RUNS, else runs/): a table on a terminal, TSV with a
header line when piped, JSON Lines with --json. `show`, `compare`, `rm` and `prune` name runs as
listed (or by path). Reads JSON only: nothing here imports TensorFlow or NumPy.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from rnncli.cli.options import JsonFlag
from rnncli.errors import RunError, UsageError

SHORT_HELP = "List, show, compare and remove runs."

app = typer.Typer(
    name="runs", rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]}
)

JsonLines = Annotated[bool, typer.Option("--json", help="JSON: one object per run (JSON Lines).")]
#: Pictures by default only on a terminal; --plot draws them into a pipe too (without colour).
PlotChoice = Annotated[
    Optional[bool],
    typer.Option(
        "--plot/--no-plot", help="Draw the chart [default: only on a terminal].", show_default=False
    ),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Remove without asking.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")]
DatasetFilter = Annotated[
    Optional[str], typer.Option("--dataset", metavar="NAME", help="Only runs of this dataset.")
]
ArchFilter = Annotated[
    Optional[str], typer.Option("--arch", metavar="NAME", help="Only runs of this architecture.")
]


@app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    dataset: DatasetFilter = None,
    arch: ArchFilter = None,
    status: Annotated[
        Optional[list[str]],
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Only runs in this state (repeatable): complete, interrupted, running, killed "
            "(running, but its process is gone), failed, damaged, 'not a run'.",
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="created (newest first), accuracy (best first), minutes (longest first) or name.",
        ),
    ] = "created",
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the order.")] = False,
    as_json: JsonLines = False,
) -> None:
    """List the runs under the runs root ($RNNCLI_RUNS, else runs/) and how each went.

    LATEST marks the run that predict and evaluate use by default. A killed run is one left
    'running' by a process that is gone ('rnncli train --resume RUN' continues it). Entries that
    are not runs, or whose bookkeeping is damaged, are listed as such. On a terminal: a table;
    piped: tab-separated lines under a header line; --json: one JSON object per line.
    """
    if ctx.invoked_subcommand is not None:
        if dataset or arch or status or sort != "created" or reverse or as_json:
            raise UsageError(f"give the options of 'rnncli runs {ctx.invoked_subcommand}' after its name")
        return
    from rnncli import console
    from rnncli import runs as run_dirs
    from rnncli.catalog import listing
    from rnncli.cli.streams import require_stdout

    require_stdout()
    found = listing.scan()
    chosen = listing.select(found, dataset, arch, status, sort, reverse)
    if not chosen:
        where = f"under {run_dirs.runs_root()}"
        console.note(f"no runs {where}" if not found else f"no runs match (of {len(found)} {where})")
        return
    _render_list(chosen, as_json)


def _render_list(chosen: list, as_json: bool) -> None:
    from rich.text import Text

    from rnncli import console

    if as_json:
        for run in chosen:
            console.json_line(run.to_dict())
        return
    if not console.out.is_terminal:
        console.tsv_line(["name", "status", "latest", *_FIELDS, *_FIGURES, "path"])
        for run in chosen:
            console.tsv_line(
                [run.name, run.status, "LATEST" if run.latest else "-", *_list_fields(run), run.path]
            )
        return
    rows = []
    for run in chosen:
        name = Text(run.name)
        if run.latest:
            name.append("  LATEST", style="bold cyan")
        rows.append([name, console.status_text(run.status), *_list_fields(run)])
    console.out.print(console.table(None, _LIST_COLUMNS, rows, {6, 7, 8, 9}))
    for run in chosen:
        if run.problem and run.status == "damaged":
            console.out.print(Text(f"{run.name}: {run.problem}", style="dim"))


_FIELDS, _FIGURES = ["dataset", "arch", "tokenizer", "created", "best"], ["accuracy", "macro-F1", "min"]
_LIST_COLUMNS = ["run", "status", *_FIELDS, *_FIGURES]


def _list_fields(run) -> list[str]:
    """The listing's cells after name and status (`_FIELDS`, `_FIGURES`); '-' where not recorded."""
    from rnncli import console

    best = f"{run.best_epoch}/{run.epochs_run}" if run.best_epoch and run.epochs_run else "-"
    created = run.created[:16].replace("T", " ") if run.created else "-"
    return [
        run.dataset or "-",
        run.arch or "-",
        run.tokenizer or "-",
        created,
        best,
        console.figure(run.test_accuracy),
        console.figure(run.macro_f1),
        console.minutes(run.minutes),
    ]


# --- show and compare ------------------------------------------------------------------------


@app.command(short_help="Settings, metrics and loss chart of one run.")
def show(
    run: Annotated[
        Optional[str],
        typer.Argument(
            metavar="[RUN]",
            help="Run name (as listed) or path [default: the latest complete run].",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
    plot: PlotChoice = None,
) -> None:
    """Settings, metrics and the loss chart (redrawn from history.json) of one run.

    On a terminal: three short tables and the chart; piped: KEY<TAB>VALUE lines; --json: one
    object with the settings, the metrics and every epoch's history.
    """
    from rnncli import console
    from rnncli.catalog import listing
    from rnncli.cli.streams import require_stdout

    require_stdout()
    chosen = listing.describe(run)
    if as_json:
        record = {**chosen.to_dict(), "settings": listing.settings(chosen), "metrics": chosen.metrics}
        console.json_line({**record, "history": chosen.history})
        return
    sections = [("Run", _run_pairs(chosen)), ("Metrics", _metric_pairs(chosen))]
    sections.append(
        ("Settings", [(key, console.setting(value)) for key, value in listing.settings(chosen).items()])
    )
    terminal = console.out.is_terminal
    for title, pairs in sections:
        if terminal:
            console.out.print(console.key_values(title, pairs))
            console.out.print()
        else:
            for key, value in pairs:
                console.tsv_line([key, value])
    if _draw(plot):
        if chosen.history:
            from rnncli.plots import loss_chart

            console.out.print(loss_chart(chosen.history, color=console.color_enabled()), markup=False)
        else:
            console.note(f"no chart: {chosen.name} has no finished epoch in history.json")


def _run_pairs(run) -> list[tuple[str, str]]:
    status = run.status + ("  LATEST" if run.latest else "")
    hint = {
        "killed": f"its process is gone; 'rnncli train --resume {run.path}' continues it",
        "interrupted": f"'rnncli train --resume {run.path}' continues it",
        "damaged": run.problem,
    }.get(run.status)
    pairs = [("name", run.name), ("path", str(run.path)), ("status", status + (f" ({hint})" if hint else ""))]
    pairs += [("created", run.created or "-")]
    packages = run.config.get("packages")
    if isinstance(packages, dict):
        pairs.append(("versions", ", ".join(f"{k} {v}" for k, v in packages.items())))
    return pairs


def _metric_pairs(run) -> list[tuple[str, str]]:
    from rnncli import console

    best = f"{run.best_epoch} of {run.epochs_run}" if run.best_epoch and run.epochs_run else "-"
    pairs = [
        ("test accuracy", console.figure(run.test_accuracy)),
        ("test loss", console.figure(run.test_loss)),
        ("macro-F1", console.figure(run.macro_f1)),
        ("best epoch", best),
        ("minutes", console.minutes(run.minutes)),
    ]
    validated = run.metrics.get("validated_on")
    if isinstance(validated, str):
        pairs.append(("validated on", validated))
    return pairs


def _draw(plot: bool | None) -> bool:
    from rnncli import console

    return console.out.is_terminal if plot is None else plot


@app.command(short_help="Settings that differ, metrics and loss curves of runs.")
def compare(
    names: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN", help="Two or more runs, by name (as listed) or path.", show_default=False
        ),
    ],
    as_json: JsonFlag = False,
    plot: PlotChoice = None,
) -> None:
    """The settings that differ between runs, their metrics side by side, and their
    validation-loss curves in one chart.

    Piped: tab-separated sections (setting, then one column per run; then metric, likewise).
    """
    from rnncli import console
    from rnncli.catalog import listing
    from rnncli.cli.streams import require_stdout

    if len(names) < 2:
        raise UsageError("compare needs at least two runs")
    require_stdout()
    chosen = [listing.describe(name) for name in names]
    if len({str(run.path.resolve()) for run in chosen}) < len(chosen):
        raise UsageError("a run is named twice")
    differing = listing.differences(chosen)
    each = [dict(_metric_pairs(run)) for run in chosen]
    metrics = [("status", [run.status for run in chosen])]
    metrics += [(label, [pairs.get(label, "-") for pairs in each]) for label in each[0]]
    if as_json:
        console.json_line(
            {"runs": [run.to_dict() for run in chosen], "differences": {key: vals for key, vals in differing}}
        )
        return
    headers = [run.name for run in chosen]
    setting_rows = [[key, *(console.setting(v) for v in values)] for key, values in differing]
    if setting_rows or not console.out.is_terminal:
        console.rows_out("Settings that differ", ["setting", *headers], setting_rows)
    else:
        console.out.print("The runs share every setting.")
    if not console.out.is_terminal:
        console.write_line("")
    right = set(range(1, len(headers) + 1))
    console.rows_out("Metrics", ["metric", *headers], [[k, *v] for k, v in metrics], right)
    if _draw(plot):
        from rnncli.plots import curves_chart

        series = [(run.name, run.history) for run in chosen]
        console.out.print(curves_chart(series, color=console.color_enabled()), markup=False)


# --- rm and prune ----------------------------------------------------------------------------


@app.command(short_help="Remove runs.")
def rm(
    names: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN", help="Runs to remove, by name (as listed) or path.", show_default=False
        ),
    ],
    yes: Yes = False,
    dry_run: DryRun = False,
) -> None:
    """Remove runs from the runs root, after asking (--yes: without asking).

    Only rnncli runs directly under the runs root are removed, never through a symbolic link;
    a run that a live rnncli process is training is kept (exit status 1). If LATEST named a
    removed run, it moves to the most recently completed run left, or goes if none is left.
    Without a terminal to ask on, nothing is removed unless --yes is given.
    """
    from rnncli.catalog import removal

    targets = [removal.removable(name) for name in names]  # every name checked before any removal
    unique = list({str(run.path.resolve()): run for run in targets}.values())
    _remove(unique, yes, dry_run, strict=True)


@app.command(short_help="Remove old complete runs and unfinished ones.")
def prune(
    keep: Annotated[
        Optional[int],
        typer.Option(
            "--keep",
            metavar="N",
            help="Keep the N most recently completed runs; remove the other complete runs.",
        ),
    ] = None,
    status: Annotated[
        Optional[list[str]],
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Also remove every run in this state (repeatable): interrupted, failed, killed "
            "(left running by a process that is gone) or damaged.",
        ),
    ] = None,
    dataset: DatasetFilter = None,
    arch: ArchFilter = None,
    yes: Yes = False,
    dry_run: DryRun = False,
) -> None:
    """Remove the runs a rule selects, after asking (--yes: without asking).

    --keep N selects the complete runs other than the N completed most recently (--keep 0: all
    complete runs); --status selects interrupted, failed, killed or damaged runs; both may be
    given. --dataset and --arch narrow both to those runs. A running run, an entry that is not
    a run, and a run a live process holds are never removed. LATEST moves as with 'runs rm'.
    """
    from rnncli.catalog import listing, removal

    found = listing.select(listing.scan(), dataset, arch)
    _remove(removal.prune_plan(found, keep, status), yes, dry_run, strict=False)


def _remove(targets: list, yes: bool, dry_run: bool, strict: bool) -> None:
    """Say what goes, ask, remove, say what happened; with `strict`, a run kept is an error."""
    from rnncli import console
    from rnncli.catalog import removal

    live = [run for run in targets if run.status == "running"]
    targets = [run for run in targets if run.status != "running"]
    if strict and live and not targets:
        raise RunError(f"not removed: {', '.join(run.name for run in live)} {removal.IN_USE}")
    for run in live:
        console.warning(f"keeping {run.name}: {removal.IN_USE}")
    if not targets:
        console.note("nothing to remove")
        return
    console.write_line(f"{'Would remove' if dry_run else 'To remove'} {_count(len(targets))}:")
    for run in targets:
        console.write_line(f"  {run.name}  ({run.status}, created {run.created or 'at an unknown time'})")
    if dry_run:
        return
    if not yes:
        _ask(len(targets))
    removals, note = removal.remove(targets)
    kept = [r for r in removals if not r.removed]
    for result in removals:
        if result.removed:
            console.write_line(f"Removed {result.run.name}")
        else:
            console.warning(f"kept {result.run.name}: {result.reason}")
    if note:
        console.write_line(note)
    if strict and (kept or live):
        raise RunError(f"{_count(len(kept) + len(live))} not removed (see above)")


def _ask(count: int) -> None:
    """Ask on the terminal; with none to ask on, refuse: a script must say --yes."""
    import sys

    from rnncli import console
    from rnncli.cli.streams import closed_at_start

    if "stdin" in closed_at_start or not sys.stdin.isatty():
        raise UsageError(
            f"not removing {_count(count)} without confirmation: standard input is not a terminal",
            "pass --yes to remove them",
        )
    if not typer.confirm(f"Remove {_count(count)}?", default=False):
        console.note("nothing removed")
        raise typer.Exit(0)


def _count(n: int) -> str:
    return f"{n} run{'s' if n != 1 else ''}"
