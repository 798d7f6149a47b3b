"""`rnncli train`: resolve the settings, train, test, save a run, and report it."""

from __future__ import annotations

import inspect
from pathlib import Path
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
    per_arch,
    per_dataset,
    presets_help,
    user_source,
)
from rnncli.data.builtin import DATASETS
from rnncli.errors import UsageError
from rnncli.models.registry import ARCHITECTURES
from rnncli.settings import STRATEGIES

SHORT_HELP = "Train a model, test it, and save everything in a run directory."

#: The options that only describe the user's own data file (see `_user_source`).
_TOKENIZER_HELP = (
    "How texts become tokens: words (the book's), chars (characters, with word boundaries), "
    "subword (SentencePiece pieces learned from the training split; pip install 'rnncli[subword]'), "
    "morphemes (Korean, Kiwi; pip install 'rnncli[korean]'), "
    "chars+subword (both, for the n-gram models) "
    f"[default: {per_dataset('tokenizer')}]."
)
_FILE_OPTIONS = ("text_col", "label_col", "test", "test_split", "encoding", "format", "quotes")


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
        typer.Option(help=f"Architecture: {', '.join(ARCHITECTURES)} [default: {per_dataset('arch')}]."),
    ] = None,
    epochs: Annotated[
        Optional[int], typer.Option(help=f"Most epochs [default: {per_dataset('epochs')}].")
    ] = None,
    batch_size: Annotated[
        Optional[int],
        typer.Option(
            help="Batch size per replica: with N replicas (--strategy) each step trains on N times "
            f"as many texts, unless --global-batch [default: {per_dataset('batch_size')}]."
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
        typer.Option(help=f"Early-stopping patience on val_loss [default: {per_dataset('patience')}]."),
    ] = None,
    num_words: Annotated[
        Optional[int],
        typer.Option(help=f"Vocabulary size incl. ids 0-3 [default: {per_dataset('num_words')}]."),
    ] = None,
    maxlen: Annotated[
        Optional[int], typer.Option(help=f"Tokens kept per text [default: {per_dataset('maxlen')}].")
    ] = None,
    embedding_dim: Annotated[
        Optional[int], typer.Option(help=f"Embedding width [default: {per_arch('embedding_dim')}].")
    ] = None,
    units: Annotated[
        Optional[int], typer.Option(help=f"Recurrent units [default: {per_arch('units')}].")
    ] = None,
    dropout: Annotated[
        Optional[float], typer.Option(help=f"Dropout rate [default: {per_arch('dropout')}].")
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
            help="fasttext, nbsvm: longest n-gram of tokens hashed, 2 to 5 (4-5 suit --tokenizer chars) "
            "[default: 2 fasttext, 3 nbsvm]."
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
        Optional[float], typer.Option("--learning-rate", "--lr", help="Adam learning rate [default: 0.001].")
    ] = None,
    preset: Annotated[
        Optional[str],
        typer.Option(
            help=f"Named settings, which the options above override: {presets_help()} "
            "[default: book]. Measured in docs/results.md.",
        ),
    ] = None,
    preset_file: Annotated[
        Optional[Path],
        typer.Option(
            "--preset-file",
            help='Settings from a JSON file ({"settings": {"arch": ..., ...}}), which the options '
            "above override, as --preset's are.",
        ),
    ] = None,
    seed: Annotated[
        Optional[int],
        typer.Option(
            help="Random seed; given, runs are repeatable [default: drawn at random, printed and "
            "recorded in the run]."
        ),
    ] = None,
    limit: Annotated[
        Optional[int],
        typer.Option(help="Use a class-stratified slice of at most N texts per split [default: all]."),
    ] = None,
    val: Annotated[
        Optional[str],
        typer.Option(
            help="Validation: a fraction held out from the training split, 'test' to validate on "
            "the test set as the book does, or 'none' to train on every training text for --epochs "
            f"(a final fit of settings chosen on validation) [default: {per_dataset('val')}].",
        ),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option(
            help="Run directory [default: DATASET-ARCH-TIMESTAMP in the runs root: $RNNCLI_RUNS, else runs/]."
        ),
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
    precision: Annotated[
        Optional[str],
        typer.Option(
            help="The arithmetic of training: float (float32) or mixed (16-bit layers, float32 "
            "weights: float16 with loss scaling on a GPU, bfloat16 on a CPU). The saved model is "
            "float32 either way and is tested in float32 (docs/performance.md) [default: float].",
        ),
    ] = None,
    plot: PlotFlag = True,
    mask: Annotated[
        Optional[bool],
        typer.Option(
            "--mask/--no-mask",
            help="Mask padding and batch texts by length (faster on long texts; docs/performance.md). "
            "--no-mask keeps the book's arithmetic: every text padded to maxlen and read whole "
            f"[default: {per_dataset('mask')}].",
        ),
    ] = None,
    tokenizer: Annotated[
        Optional[str],
        typer.Option(
            help=_TOKENIZER_HELP,
        ),
    ] = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    test: TestFile = None,
    test_split: TestSplit = None,
    encoding: Encoding = None,
    format: Format = None,
    quotes: TsvQuotes = None,
    resume: Annotated[
        Optional[Path],
        typer.Option(
            "--resume",
            help="Continue an interrupted or killed run from its last finished epoch, with its own "
            "settings (only --data-dir and --plot may be given with it).",
        ),
    ] = None,
) -> None:
    """Train a model, test it, and save everything in a run directory.

    The settings come from the dataset's defaults (the book's), then --preset, then the options
    given. Training goes on if stdout's reader goes away (`| head`): the run directory keeps the
    result.
    """
    options = dict(locals())
    if resume is not None:
        _resume(resume, options)
        return
    if dataset is None:
        raise UsageError("missing argument DATASET", "or --resume RUN to continue a run")
    resolved = _resolve(dataset, options)
    if preset is not None or preset_file is not None:
        _announce_preset(resolved, options)
    _run(lambda display, reporter: _training().train(resolved, display, reporter), plot)


def _training():
    # Imported on demand: TensorFlow comes with it, and --help must not pay for that.
    import rnncli.training

    return rnncli.training


def _resolve(dataset: str, options: dict[str, object]):
    """The full `TrainSettings` for `dataset` from the command-line options (None: not given)."""
    from rnncli import settings

    source = user_source(dataset, options)
    skip = {"dataset", "plot", "resume", *_FILE_OPTIONS}
    overrides = {key: value for key, value in options.items() if key not in skip}
    return settings.resolve(dataset, source=source, **overrides)


def _announce_preset(resolved, options: dict[str, object]) -> None:
    """`Preset best: nbsvm; num_words 40000, maxlen 1000, ...`: what --preset chose, as it applies.

    A value an option overrode is marked `(given)`; when --arch names another architecture, the
    preset's settings for its own architecture do not apply and are not shown.
    """
    from rnncli import console, settings

    key = settings.USER_DATA if resolved.source is not None else resolved.dataset
    if options.get("preset_file") is not None:
        from rnncli import presetfiles

        description, chosen = presetfiles.load(options["preset_file"])
        preset = settings.Preset(description, chosen)
    else:
        preset = settings.get_preset(key, resolved.preset)
        chosen = preset.settings
    foreign_arch = resolved.arch != chosen.get("arch", resolved.arch)
    parts = [
        f"{name} {_word(getattr(resolved, name))}" + (" (given)" if options.get(name) is not None else "")
        for name in chosen
        if name != "arch" and not (foreign_arch and name in settings._ARCH_KEYS)
    ]
    described = ", ".join(parts) if parts else preset.description
    console.out.print(f"Preset {resolved.preset}: {resolved.arch}; {described}", markup=False)


def _word(value: object) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def _resume(run_dir: Path, options: dict[str, object]) -> None:
    """Continue `run_dir` with its own settings: any option that would change the run is refused."""
    conflicting = [name for name, value in _train_options(options).items() if value is not None]
    if conflicting:
        raise UsageError(f"--resume continues {run_dir} with its own settings; drop {', '.join(conflicting)}")
    data_dir = options["data_dir"]
    _run(lambda display, reporter: _training().resume(run_dir, data_dir, display, reporter), options["plot"])


def _train_options(given: dict) -> dict[str, object]:
    """The train options that would change a run, by their command-line names (for --resume)."""
    names = {"dataset": "DATASET", "data_dir": None, "plot": None, "resume": None}
    return {
        names.get(key) or "--" + key.replace("_", "-"): value
        for key, value in given.items()
        if key in inspect.signature(train).parameters and names.get(key, "") is not None
    }


def _run(start, plot: bool) -> None:
    """Train through `start(display, reporter)` and report; stdout's reader may leave meanwhile."""
    from rnncli import console
    from rnncli.cli.streams import outlive_readers

    with outlive_readers():
        display = console.TrainDisplay()
        try:
            result = start(display, console.RichReporter())
        finally:
            display.close()
        _report(result, plot)


def _report(result, plot: bool) -> None:
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
