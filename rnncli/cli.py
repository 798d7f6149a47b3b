"""The `rnncli` command: parse arguments, call the library, render, exit with a code.

Exit codes: 0 success, 1 runtime failure, 2 usage error, 130 interrupted. Nothing here imports
TensorFlow at module level, so `--help` and argument errors answer at once.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from rnncli import __version__
from rnncli.data.builtin import DATASETS
from rnncli.errors import InputError, RnncliError, UsageError
from rnncli.models.registry import ARCHITECTURES
from rnncli.settings import DATASET_DEFAULTS, PRESETS, STRATEGIES

app = typer.Typer(
    name="rnncli",
    help="Train, evaluate and serve recurrent text classifiers (the book's RNN chapter as a tool).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _per_dataset(field: str) -> str:
    return ", ".join(f"{name} {getattr(d, field)}" for name, d in DATASET_DEFAULTS.items())


def _presets_help() -> str:
    return "; ".join(
        f"{dataset}: " + ", ".join(f"{name} ({preset.description})" for name, preset in presets.items())
        for dataset, presets in PRESETS.items()
    )


def _per_arch(field: str) -> str:
    return ", ".join(f"{name} {getattr(a, field)}" for name, a in ARCHITECTURES.items())


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


DataDir = Annotated[
    Optional[Path],
    typer.Option(
        "--data-dir",
        help="Folder holding the corpus archives [default: $RNNCLI_DATA, then the cache, then a download].",
    ),
]


@app.command()
def train(
    dataset: Annotated[
        Optional[str],
        typer.Argument(
            help=f"Corpus: {', '.join(DATASETS)}, or your own .csv, .tsv or .jsonl file, or a folder "
            "with one sub-folder of .txt files per class.",
            show_default=False,
        ),
    ] = None,
    arch: Annotated[
        Optional[str],
        typer.Option(help=f"Architecture: {', '.join(ARCHITECTURES)} [default: {_per_dataset('arch')}]."),
    ] = None,
    epochs: Annotated[
        Optional[int], typer.Option(help=f"Most epochs [default: {_per_dataset('epochs')}].")
    ] = None,
    batch_size: Annotated[
        Optional[int],
        typer.Option(
            help="Batch size per replica: with N replicas (--strategy) each step trains on N times "
            f"as many texts, unless --global-batch [default: {_per_dataset('batch_size')}]."
        ),
    ] = None,
    global_batch: Annotated[
        Optional[bool],
        typer.Option(
            "--global-batch/--per-replica-batch",
            help="Take --batch-size as the global batch, split over the replicas, instead of per "
            "replica [default: per replica; the same with one replica].",
        ),
    ] = None,
    patience: Annotated[
        Optional[int],
        typer.Option(help=f"Early-stopping patience on val_loss [default: {_per_dataset('patience')}]."),
    ] = None,
    num_words: Annotated[
        Optional[int],
        typer.Option(help=f"Vocabulary size incl. ids 0-3 [default: {_per_dataset('num_words')}]."),
    ] = None,
    maxlen: Annotated[
        Optional[int], typer.Option(help=f"Tokens kept per text [default: {_per_dataset('maxlen')}].")
    ] = None,
    embedding_dim: Annotated[
        Optional[int], typer.Option(help=f"Embedding width [default: {_per_arch('embedding_dim')}].")
    ] = None,
    units: Annotated[
        Optional[int], typer.Option(help=f"Recurrent units [default: {_per_arch('units')}].")
    ] = None,
    dropout: Annotated[
        Optional[float], typer.Option(help=f"Dropout rate [default: {_per_arch('dropout')}].")
    ] = None,
    buckets: Annotated[
        Optional[int],
        typer.Option(
            help="fasttext, nbsvm: hash buckets for word n-grams "
            "[default: 200000 fasttext, 2000000 nbsvm; 0: words only]."
        ),
    ] = None,
    ngrams: Annotated[
        Optional[int],
        typer.Option(
            help="fasttext, nbsvm: longest word n-gram hashed, 2 or 3 [default: 2 fasttext, 3 nbsvm]."
        ),
    ] = None,
    pooling: Annotated[
        Optional[str],
        typer.Option(
            help="fasttext: 'mean' of every n-gram (fastText's own) or 'sqrtn', the distinct n-grams' "
            "sum over the square root of their number [default: mean]."
        ),
    ] = None,
    attention: Annotated[
        Optional[str],
        typer.Option(
            help="attention: 'luong', the book's block (query = last state, which also reaches the "
            "output directly), or 'pool', a learned query whose weighted sum is all the output "
            "sees, so --explain shows the words that decide [default: luong]."
        ),
    ] = None,
    learning_rate: Annotated[
        Optional[float], typer.Option(help="Adam learning rate [default: 0.001].")
    ] = None,
    preset: Annotated[
        Optional[str],
        typer.Option(
            help=f"Named settings, which the options above override: {_presets_help()} "
            "[default: book]. Measured in docs/results.md.",
        ),
    ] = None,
    seed: Annotated[
        Optional[int],
        typer.Option(help="Random seed; given, runs are repeatable [default: random, recorded in the run]."),
    ] = None,
    limit: Annotated[
        Optional[int],
        typer.Option(help="Use a class-stratified slice of at most N texts per split [default: all]."),
    ] = None,
    val: Annotated[
        Optional[str],
        typer.Option(
            help="Validation: a fraction held out from the training split, or 'test' to validate on "
            f"the test set as the book does [default: {_per_dataset('val')}].",
        ),
    ] = None,
    out: Annotated[
        Optional[Path], typer.Option(help="Run directory [default: runs/DATASET-ARCH-TIMESTAMP].")
    ] = None,
    data_dir: DataDir = None,
    strategy: Annotated[
        Optional[str],
        typer.Option(
            help=f"Where to train (tf.distribute): {', '.join(STRATEGIES)}. auto mirrors over every "
            "local GPU when there are several, else uses one device; one-device and mirrored force "
            "those; multi-worker trains with the workers of $TF_CONFIG, one process each "
            "(docs/distributed.md) [default: auto].",
        ),
    ] = None,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Draw the loss chart at the end.")] = True,
    mask: Annotated[
        Optional[bool],
        typer.Option(
            "--mask/--no-mask",
            help="Mask padding and batch texts by length (faster on long texts; docs/performance.md). "
            "--no-mask keeps the book's arithmetic: every text padded to maxlen and read whole "
            f"[default: {_per_dataset('mask')}].",
        ),
    ] = None,
    text_col: Annotated[
        Optional[str], typer.Option(help="Your data: text column or JSON key [default: text].")
    ] = None,
    label_col: Annotated[
        Optional[str], typer.Option(help="Your data: label column or JSON key [default: label].")
    ] = None,
    test: Annotated[
        Optional[Path],
        typer.Option(help="Your data: a separate test file [default: split off --test-split]."),
    ] = None,
    test_split: Annotated[
        Optional[float], typer.Option(help="Your data: stratified test share [default: 0.2].")
    ] = None,
    encoding: Annotated[
        Optional[str], typer.Option(help="Your data: text encoding [default: utf-8, BOM or not].")
    ] = None,
    resume: Annotated[
        Optional[Path],
        typer.Option(
            "--resume",
            help="Continue an interrupted or killed run from its last finished epoch, with its own "
            "settings (only --data-dir and --plot may be given with it).",
        ),
    ] = None,
) -> None:
    """Train a model, test it, and save everything in a run directory."""
    from rnncli import console, settings

    if resume is not None:
        # Everything else comes from the run's config.json, so the resumed run is the same run.
        conflicting = [name for name, value in _train_options(locals()).items() if value is not None]
        if conflicting:
            raise UsageError(
                f"--resume continues {resume} with its own settings; drop {', '.join(conflicting)}"
            )
        from rnncli.training import resume as resume_training

        display = console.TrainDisplay()
        try:
            result = resume_training(resume, data_dir, display, console.RichReporter())
        finally:
            display.close()
        _train_report(result, plot)
        return
    if dataset is None:
        raise UsageError("missing argument DATASET", "or --resume RUN to continue a run")
    file_options = {
        "text_col": text_col,
        "label_col": label_col,
        "test_path": str(test) if test else None,
        "test_split": test_split,
        "encoding": encoding,
    }
    source = settings.user_source(dataset, **file_options)
    if source is None and any(value is not None for value in file_options.values()):
        raise UsageError(
            "--text-col, --label-col, --test, --test-split and --encoding apply to your own data files",
            f"{dataset} is a built-in dataset",
        )
    resolved = settings.resolve(
        dataset,
        source=source,
        arch=arch,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        num_words=num_words,
        maxlen=maxlen,
        embedding_dim=embedding_dim,
        units=units,
        dropout=dropout,
        buckets=buckets,
        ngrams=ngrams,
        pooling=pooling,
        attention=attention,
        learning_rate=learning_rate,
        preset=preset,
        seed=seed,
        limit=limit,
        val=val,
        out=out,
        data_dir=data_dir,
        mask=mask,
        strategy=strategy,
        global_batch=global_batch,
    )
    from rnncli.training import train as run_training

    display = console.TrainDisplay()
    try:
        result = run_training(resolved, display, console.RichReporter())
    finally:
        display.close()
    _train_report(result, plot)


def _train_options(given: dict) -> dict[str, object]:
    """The train options that would change a run, by their command-line names (for --resume)."""
    import inspect

    names = {"dataset": "DATASET", "data_dir": None, "plot": None, "resume": None}
    return {
        names.get(key) or "--" + key.replace("_", "-"): value
        for key, value in given.items()
        if key in inspect.signature(train).parameters and names.get(key, "") is not None
    }


def _train_report(result, plot: bool) -> None:
    from rnncli import console
    from rnncli.plots import loss_chart

    console.out.print(f"\nTest Accuracy: {result.test_accuracy:.4f}")
    console.out.print(
        f"Test loss {result.test_loss:.4f}; best epoch {result.best_epoch} of {result.stopped_epoch}; "
        f"{result.seconds / 60:.1f} min"
    )
    if not result.chief:
        console.out.print("Saved nothing: the chief of the cluster keeps the run")
        return
    console.out.print(f"Saved run: {result.run_dir}")
    if plot and result.history:
        console.out.print(loss_chart(result.history, color=console.color_enabled()), markup=False)


@app.command()
def evaluate(
    run: Annotated[Optional[Path], typer.Argument(help="Run directory [default: the latest run].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Test loss and accuracy of a run; per-class metrics and confusions for several classes."""
    from rnncli import console, runs
    from rnncli.evaluation import evaluate as run_evaluation

    report = run_evaluation(runs.open_run(run), data_dir, console.RichReporter())
    if as_json:
        console.write_line(json.dumps(report.to_dict(), ensure_ascii=False))
        return
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


@app.command()
def predict(
    texts: Annotated[
        Optional[list[str]],
        typer.Argument(help="Texts to classify; '-' (or piped input) reads one text per line from stdin."),
    ] = None,
    model: Annotated[
        Optional[Path], typer.Option("--model", help="Run directory [default: the latest run].")
    ] = None,
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
) -> None:
    """Label raw texts with a trained run. Terminal: a table; pipe: LABEL<TAB>PROBABILITY per line."""
    from rnncli import console, runs
    from rnncli.predict import Predictor, read_lines

    if top_k < 1:
        raise UsageError(f"--top-k must be at least 1, got {top_k}")
    sources = [bool(texts and texts != ["-"]), file is not None]
    if sum(sources) > 1:
        raise UsageError("give texts as arguments or --file, not both")
    if texts and "-" in texts and texts != ["-"]:
        raise UsageError("'-' reads standard input and cannot be mixed with text arguments")
    if texts and texts != ["-"]:
        inputs = iter(texts)
    elif file is not None:
        if not file.is_file():
            raise InputError(f"{file}: no such file")
        handle = open(file, "rb")
        inputs = read_lines(handle, str(file))
    elif texts == ["-"] or not sys.stdin.isatty():
        inputs = read_lines(sys.stdin.buffer, "stdin")
    else:
        raise UsageError("nothing to predict", "give texts as arguments, '-' to read stdin, or --file PATH")
    first = next(inputs, None)
    if first is None:
        raise InputError("no input texts: the input is empty")

    def all_inputs():
        yield first
        yield from inputs

    predictor = Predictor(runs.open_run(model))
    k = min(top_k, len(predictor.label_names))
    pretty = console.out.is_terminal and not as_json
    if explain:
        _explain(predictor, all_inputs(), as_json)
        return
    rows: list[list[str]] = []
    for batch in predictor.stream(all_inputs()):
        for prediction in batch:
            ranked = sorted(prediction.probabilities.items(), key=lambda kv: -kv[1])[:k]
            if as_json:
                record = {
                    "text": prediction.text,
                    "label": prediction.label,
                    "probability": prediction.probability,
                    "probabilities": prediction.probabilities,
                }
                if k > 1:
                    record["top"] = [{"label": name, "probability": p} for name, p in ranked]
                console.json_line(record)
            elif pretty:
                rows.append([console.excerpt(prediction.text)] + [f"{name} {p:.4f}" for name, p in ranked])
            else:
                console.write_line("\t".join(f"{name}\t{p:.4f}" for name, p in ranked))
        sys.stdout.flush()
    if pretty and rows:
        columns = ["text", "label"] + [f"#{i}" for i in range(2, k + 1)]
        console.out.print(console.table(None, columns, rows))


def _explain(predictor, texts, as_json: bool) -> None:
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
        prediction = explanation.prediction
        if as_json:
            record = {
                "text": prediction.text,
                "label": prediction.label,
                "probability": prediction.probability,
                "probabilities": prediction.probabilities,
                "method": explanation.method,
                "weights": explanation.pairs(),
            }
            console.json_line(record)
        else:
            for line in console.explanation_lines(explanation, color):
                if isinstance(line, str):
                    console.write_line(line) if not color else console.out.print(line, markup=False)
                else:
                    console.out.print(line)
        sys.stdout.flush()


@app.command()
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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show a model's layers and parameter counts, as model.summary() does, without training."""
    from rnncli import console, settings

    if run is not None:
        from rnncli import runs
        from rnncli.models import persist
        from rnncli.predict import spec_of
        from rnncli.summary import summarize_model

        info = runs.open_run(run)
        spec = spec_of(info)
        result = summarize_model(persist.load(info.path / runs.MODEL, spec), spec.arch)
        title = f"{spec.arch} from {info.path}"
    else:
        from rnncli.data.builtin import get as get_dataset
        from rnncli.summary import summarize

        name = dataset or "imdb"
        resolved = settings.resolve(
            name, arch=arch, num_words=num_words, maxlen=maxlen, embedding_dim=embedding_dim, units=units
        )
        if resolved.source is not None:
            from rnncli.data.userfiles import count_classes

            classes = count_classes(resolved.source)
        else:
            classes = get_dataset(name).num_classes
        result = summarize(settings.model_spec(resolved, classes))
        title = f"{resolved.arch} on {resolved.name}"
    if as_json:
        console.write_line(json.dumps(result.to_dict()))
        return
    rows = [[r.name, r.type, r.output_shape, f"{r.params:,}"] for r in result.layers]
    console.out.print(console.table(title, ["Layer", "Type", "Output shape", "Params"], rows, {3}))
    console.out.print(f"Total params: {result.total_params:,}")
    console.out.print(f"Trainable params: {result.trainable_params:,}")
    console.out.print(f"Non-trainable params: {result.non_trainable_params:,}")


def _error(message: str) -> None:
    sys.stderr.write(f"rnncli: error: {message}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure becomes one line on stderr and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(os.environ.get("RNNCLI_DEBUG"))
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="rnncli", standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except typer.TyperException as exc:
        # Typer's own (vendored click) parse errors: one line, exit 2 for usage mistakes.
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            sys.stdout.write(ctx.get_help() + "\n")
            code = 0
        else:
            where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            _error(f"{exc.format_message()}{where}")
            code = getattr(exc, "exit_code", 2)
    except typer.Abort:
        _error("aborted")
        code = 130
    except RnncliError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _error(str(exc))
        code = exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        code = 130
    except BrokenPipeError:
        # A reader such as `head` went away: stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if debug:
            raise
        _error(f"unexpected {type(exc).__name__}: {exc} (run with --debug for a traceback)")
        code = 1
    sys.exit(code)
