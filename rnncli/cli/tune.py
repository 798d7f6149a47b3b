"""`rnncli tune`: search train's settings on validation, then train and test the best once.

The search is resumable and shareable through its study (`runs/tune-NAME/`): the same command
continues it after Ctrl-C or `kill -9`, and several processes given the same study (and
`--storage`, for several machines) share its trials.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from rnncli.cli.options import (
    DataDir,
    Encoding,
    Format,
    LabelCol,
    PlotFlag,
    TestFile,
    TestSplit,
    TextCol,
    TsvQuotes,
    per_dataset,
    user_source,
)
from rnncli.data.builtin import DATASETS
from rnncli.errors import UsageError
from rnncli.models.registry import ARCHITECTURES

SHORT_HELP = "Search settings on validation; train and test the best."


def tune(
    dataset: Annotated[
        str,
        typer.Argument(
            help=f"Corpus: {', '.join(DATASETS)}, or your own .csv, .tsv or .jsonl file, or a folder "
            "with one sub-folder of .txt files per class.",
            show_default=False,
            metavar="DATASET",
        ),
    ],
    budget: Annotated[
        Optional[str],
        typer.Option(
            help="Wall-clock time for the search, such as 90s, 30m or 1h30m; a trial still running "
            "then stops and counts as pruned [default: 30m when --trials is not given either]."
        ),
    ] = None,
    trials: Annotated[
        Optional[int],
        typer.Option(
            help="Trials to finish (complete or pruned) in the study, all processes together; with "
            "--budget, whichever comes first."
        ),
    ] = None,
    arch: Annotated[
        Optional[str],
        typer.Option(
            help=f"Architectures to search, comma-separated [default: all: {','.join(ARCHITECTURES)}]."
        ),
    ] = None,
    study: Annotated[
        Optional[str],
        typer.Option(help="Study name: its folder is tune-NAME in the runs root [default: the data's name]."),
    ] = None,
    storage: Annotated[
        Optional[str],
        typer.Option(
            help="Where the study's trials live: a journal file (processes of one machine) or a "
            "database URL such as sqlite:///tune.db or postgresql://... (several machines) "
            "[default: journal.log in the study folder]."
        ),
    ] = None,
    fix: Annotated[
        Optional[list[str]],
        typer.Option(
            "--fix",
            help="Fix a searched setting instead of searching it, as NAME=VALUE (repeatable): "
            "learning_rate, batch_size, num_words, maxlen, embedding_dim, units, dropout, ngrams, "
            "buckets, pooling, attention.",
            show_default=False,
        ),
    ] = None,
    train_best: Annotated[
        bool,
        typer.Option(
            "--train/--no-train",
            help="Train the best settings as an ordinary run at the end and test it once.",
        ),
    ] = True,
    epochs: Annotated[
        Optional[int], typer.Option(help=f"Most epochs of each trial [default: {per_dataset('epochs')}].")
    ] = None,
    patience: Annotated[
        Optional[int],
        typer.Option(help=f"Early-stopping patience of each trial [default: {per_dataset('patience')}]."),
    ] = None,
    tokenizer: Annotated[
        Optional[str],
        typer.Option(
            help="Fix the tokenizer instead of searching it [default: searched: words and subword; "
            "for nsmc subword, morphemes and (n-gram models) chars+subword; those installed]."
        ),
    ] = None,
    seed: Annotated[
        Optional[int],
        typer.Option(help="Seed of the validation split and the search [default: drawn, kept in the study]."),
    ] = None,
    limit: Annotated[
        Optional[int],
        typer.Option(help="Search on a class-stratified slice of at most N texts per split [default: all]."),
    ] = None,
    val: Annotated[
        Optional[str],
        typer.Option(
            help=f"Share of the training split held out for validation [default: {per_dataset('val')}]."
        ),
    ] = None,
    data_dir: DataDir = None,
    plot: PlotFlag = True,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    test: TestFile = None,
    test_split: TestSplit = None,
    encoding: Encoding = None,
    format: Format = None,
    quotes: TsvQuotes = None,
) -> None:
    """Search train's settings on the validation split within a budget, then train the best.

    The test set is never looked at during the search: only the best settings' run is tested,
    once. The study's folder holds every trial (trials.jsonl, trials.txt), a chart of the best
    validation loss (chart.txt), the best settings as a preset file (best.json, for
    `rnncli train DATASET --preset-file`) and study.json.
    """
    options = dict(locals())
    from rnncli.tuning.limits import Limits
    from rnncli.tuning.search import TuneOptions
    from rnncli.tuning.space import parse_fixed

    limits = Limits.of(budget, trials)
    fixed = parse_fixed(fix or [])
    if val == "test":
        raise UsageError(
            "--val test would choose settings by the test set",
            "tune holds validation out of the training split",
        )
    if val == "none":
        raise UsageError(
            "--val none leaves nothing to compare trials on",
            "give a share such as --val 0.1, then refit with train --val none",
        )
    given = {
        name: options[name]
        for name in ("epochs", "patience", "tokenizer", "seed", "limit", "val", "data_dir")
    }
    given["source"] = user_source(dataset, options)
    archs = (
        tuple(name.strip() for name in arch.split(",") if name.strip())
        if arch is not None
        else tuple(ARCHITECTURES)
    )
    request = TuneOptions(dataset, given, archs, limits, study, storage, fixed)
    _run(request, train_best, plot)


def _run(request, train_best: bool, plot: bool) -> None:
    from rnncli import console
    from rnncli.cli.streams import outlive_readers
    from rnncli.cli.tunedisplay import TuneDisplay, report_search
    from rnncli.tuning import search

    with outlive_readers():
        display = TuneDisplay()
        try:
            result = search.search(request, display, console.RichReporter())
        finally:
            display.close()
        report_search(result, request, plot)
        if not train_best or result.best is None:
            return
        if result.running_elsewhere:
            console.note(
                f"{result.running_elsewhere} trial(s) still running in other processes: the last "
                "process to finish trains the best run"
            )
            return
        _train_best(request, result, plot)


def _train_best(request, result, plot: bool) -> None:
    from rnncli import console
    from rnncli.cli.train import _report
    from rnncli.tuning.best import best_run_dir, train_best

    console.out.print(
        f"\nTraining the best settings (trial {result.best.number}) as run {best_run_dir(result)}"
    )
    display = console.TrainDisplay()
    try:
        trained, run_dir, what = train_best(request, result, display, console.RichReporter())
    finally:
        display.close()
    if trained is None:
        console.out.print(f"Kept run {run_dir}: it already holds the best trial's model")
        return
    _report(trained, plot)
