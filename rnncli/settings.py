"""Training settings: the book's defaults per dataset and architecture, and user overrides.

Kept free of TensorFlow so that `--help` and argument errors stay instant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from rnncli.data.builtin import DATASETS
from rnncli.data.builtin import get as get_dataset
from rnncli.data.usersource import UserSource, absolute, check_source, is_user_path
from rnncli.errors import UsageError
from rnncli.models.precision import PRECISIONS
from rnncli.models.registry import NGRAM_ARCHS, ModelSpec, get_architecture
from rnncli.tokenizers import TOKENIZERS


@dataclass(frozen=True)
class DatasetDefaults:
    arch: str
    num_words: int
    maxlen: int
    batch_size: int
    epochs: int
    patience: int
    val: str
    mask: bool
    #: How texts become tokens (`rnncli.tokenizers`): the book's words for its corpora.
    tokenizer: str = "words"


#: The book's settings; `val` is our held-out share of the training split (the book's 0.25 for
#: IMDB; for Reuters the book validated on the test set, which `--val test` reproduces).
DATASET_DEFAULTS: dict[str, DatasetDefaults] = {
    # Masking pays off on long, varied texts (IMDB); Reuters wires are mostly near maxlen 100, and
    # there the masked path measured slower than the book's (docs/performance.md).
    "reuters": DatasetDefaults("lstm", 1000, 100, 20, 200, 5, "0.2", False),
    "imdb": DatasetDefaults("cnn-lstm", 5000, 500, 40, 100, 3, "0.25", True),
    # NSMC's reviews are short (at most 147 characters; 7 words at the median, 33 at the 99th
    # percentile, 42 at most), so the plain LSTM, not a convolution built for 500-word reviews.
    # Korean words carry their particles, so the training split has ~295,000 distinct words;
    # the 20,000 most frequent cover ~69% of its tokens. Masked and length-bucketed: most of
    # each row is padding.
    # 120,000 texts train in batches of 64 and overfit within a few epochs: patience 2.
    # Words are a poor unit for Korean (particles and endings make 영화가, 영화를, 영화는 three
    # words): an LSTM on 30,000 reviews reached 0.784 test accuracy on words, 0.792 on
    # characters, 0.827 on SentencePiece pieces and 0.834 on Kiwi morphemes (docs/results.md);
    # pieces need no Korean analyser and predict starts in a fraction of a second, so they are
    # the default (`pip install "rnncli[subword]"`); 60 pieces hold almost every review.
    "nsmc": DatasetDefaults("lstm", 20000, 60, 64, 20, 2, "0.2", True, "subword"),
    # A user's own file or folder: a larger vocabulary than the book's, mid-length texts.
    "your data": DatasetDefaults("lstm", 10000, 200, 32, 50, 3, "0.2", True),
}
USER_DATA = "your data"

BOOK = "book"

#: `--strategy` values: `auto` mirrors over every local GPU when there are several, else runs on
#: the default device; the others force one tf.distribute strategy (docs/distributed.md).
STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker")
#: `--val none`: train on the whole training split for `--epochs`, as a final fit after settings
#: were chosen on a validation split (`rnncli tune`'s trials say how many epochs).
NO_VALIDATION = "none"


@dataclass(frozen=True)
class Preset:
    """A named set of settings; options given on the command line still override it."""

    description: str
    settings: dict[str, object]


#: The bag-of-n-grams models behind the `best` presets (docs/results.md has the measurements): on
#: validation splits of both corpora they beat the book's recurrent models, in minutes on 2 cores.
_FASTTEXT = {"arch": "fasttext", "mask": True, "embedding_dim": 64, "dropout": 0.0}
#: Shorter texts (news wires, most users' files): 500 tokens, 200,000 n-gram buckets.
_FASTTEXT_SHORT = {
    **_FASTTEXT,
    "maxlen": 500,
    "buckets": 200_000,
    "batch_size": 32,
    "epochs": 60,
    "patience": 3,
    "learning_rate": 0.003,
}

#: Chosen on the held-out validation split (never the test set); see docs/results.md.
PRESETS: dict[str, dict[str, Preset]] = {
    "reuters": {
        BOOK: Preset("the book's LSTM and settings", {}),
        # Found by `rnncli tune reuters` (45 minutes, validation only), then fitted on every
        # training wire for the best trial's 2 epochs (`--val none`): 0.5 points above the
        # hand-chosen preset it replaces, in a sixth of its time (docs/results.md).
        "best": Preset(
            "fastText-style words + hashed bigrams, sqrtn, 20,000 words, 400 tokens, 2 epochs on every wire",
            {
                **_FASTTEXT,
                "num_words": 20000,
                "maxlen": 400,
                "buckets": 100_000,
                "ngrams": 2,
                "pooling": "sqrtn",
                "batch_size": 16,
                "learning_rate": 0.0046,
                "epochs": 2,
                "patience": 3,
                "val": NO_VALIDATION,
            },
        ),
    },
    "imdb": {
        BOOK: Preset("the book's CNN+LSTM and settings", {}),
        "best": Preset(
            "NBSVM over distinct words + hashed 2- and 3-grams, 40,000 words, 1,000 tokens",
            {
                "arch": "nbsvm",
                "num_words": 40000,
                "maxlen": 1000,
                "buckets": 2_000_000,
                "ngrams": 3,
                "batch_size": 32,
                "epochs": 20,
                "patience": 2,
                "learning_rate": 0.001,
                # A linear model needs little validation data to stop well: train on 90%.
                "val": "0.1",
            },
        ),
    },
    "nsmc": {
        BOOK: Preset("an LSTM over SentencePiece pieces with the defaults for NSMC", {}),
        # Chosen on a validation split of the training file (docs/results.md): NBSVM over
        # character 1-5-grams with word boundaries (the features of the strongest linear peers)
        # and SentencePiece pieces with their n-grams. 10 million buckets: with 2 million, the
        # n-grams of 120,000 reviews collide enough to cost 0.3 points of validation accuracy.
        # Then fitted on every training review for the 4 epochs validation had picked
        # (`--val none`): as accurate as stopping on a held-out tenth, in two thirds of the time.
        "best": Preset(
            "NBSVM over characters, SentencePiece pieces and hashed 2- to 5-grams of each, 250 tokens, "
            "4 epochs on every review",
            {
                "arch": "nbsvm",
                "tokenizer": "chars+subword",
                "num_words": 12000,
                "maxlen": 250,
                "ngrams": 5,
                "buckets": 10_000_000,
                "batch_size": 256,
                "learning_rate": 0.0005,
                "epochs": 4,
                "patience": 2,
                "val": NO_VALIDATION,
            },
        ),
    },
    USER_DATA: {
        BOOK: Preset("an LSTM with the defaults for your data", {}),
        "best": Preset(
            "fastText-style words + hashed bigrams, mean, 30,000 words, 500 tokens",
            {**_FASTTEXT_SHORT, "num_words": 30000},
        ),
    },
}


def get_preset(dataset_key: str, name: str) -> Preset:
    presets = PRESETS[dataset_key]
    try:
        return presets[name]
    except KeyError:
        raise UsageError(f"unknown preset {name!r}", f"choose one of: {', '.join(presets)}") from None


@dataclass(frozen=True)
class TrainSettings:
    """Every knob of one training run, after defaults are applied."""

    dataset: str
    arch: str
    epochs: int
    batch_size: int
    patience: int
    num_words: int
    maxlen: int
    embedding_dim: int
    units: int
    dropout: float
    learning_rate: float
    seed: int | None
    limit: int | None
    val: str
    mask: bool = True
    buckets: int = 0
    ngrams: int = 2
    pooling: str = "mean"
    attention: str = "luong"
    preset: str = "book"
    out: Path | None = None
    data_dir: Path | None = None
    source: UserSource | None = None
    #: Where training runs (`STRATEGIES`); `batch_size` is per replica unless `global_batch`.
    strategy: str = "auto"
    global_batch: bool = False
    #: How texts become tokens (`rnncli.tokenizers.TOKENIZERS`); saved with the run.
    tokenizer: str = "words"
    #: The arithmetic of training (`rnncli.models.precision.PRECISIONS`); saved models are float32.
    precision: str = "float"

    @property
    def name(self) -> str:
        """A short name for run directories: the dataset, or the user file's stem."""
        return Path(self.source.path).stem if self.source else self.dataset

    @property
    def validate_on_test(self) -> bool:
        return self.val == "test"

    @property
    def validates(self) -> bool:
        """False with `--val none`: every training text is trained on and nothing validates."""
        return self.val != NO_VALIDATION

    @property
    def monitor(self) -> str:
        """The loss that picks the best epoch and stops early: training loss when nothing validates."""
        return "val_loss" if self.validates else "loss"

    @property
    def holds_out(self) -> bool:
        """Whether validation texts are held out of the training split (a fraction `--val`)."""
        return self.validates and not self.validate_on_test

    @property
    def val_fraction(self) -> float:
        return float(self.val) if self.holds_out else 0.0

    def to_dict(self) -> dict:
        payload = asdict(self)
        payload["out"] = str(self.out) if self.out else None
        payload["data_dir"] = str(self.data_dir) if self.data_dir else None
        payload["source"] = self.source.to_dict() if self.source else None
        return payload


def user_source(dataset: str, **options: object) -> UserSource | None:
    """A `UserSource` when `dataset` is a path rather than a built-in name, else None."""
    if dataset in DATASETS:
        return None
    if not is_user_path(dataset):
        get_dataset(dataset)  # raises the usage error that lists the valid names
    given = {key: value for key, value in options.items() if value is not None}
    if given.get("test_path"):
        given["test_path"] = absolute(str(given["test_path"]))
    source = UserSource(path=absolute(dataset), **given)  # type: ignore[arg-type]
    check_source(source)
    return source


#: Preset settings that belong to the preset's architecture rather than to the data.
_ARCH_KEYS = (
    "arch",
    "embedding_dim",
    "units",
    "dropout",
    "buckets",
    "ngrams",
    "pooling",
    "attention",
    "mask",
)


def resolve(dataset: str, **overrides: object) -> TrainSettings:
    """Apply the dataset's and the architecture's defaults to whatever was not given (None)."""
    source = overrides.get("source")
    if source is None and dataset not in DATASETS:
        source = user_source(dataset)
        overrides["source"] = source
    key = USER_DATA if source is not None else dataset
    base = DATASET_DEFAULTS[key]
    preset_values = _preset_values(key, overrides.pop("preset", None), overrides.pop("preset_file", None))
    if overrides.get("arch") and overrides["arch"] != preset_values.get("arch", overrides["arch"]):
        # Another architecture than the preset's: its own widths apply, not the preset's.
        for name in _ARCH_KEYS:
            preset_values.pop(name, None)
    arch_name = overrides.get("arch") or preset_values.get("arch") or base.arch
    arch = get_architecture(str(arch_name))
    values: dict[str, object] = {
        "dataset": dataset,
        "arch": arch.name,
        "epochs": base.epochs,
        "batch_size": base.batch_size,
        "patience": base.patience,
        "num_words": base.num_words,
        "maxlen": base.maxlen,
        "embedding_dim": arch.embedding_dim,
        "units": arch.units,
        "dropout": arch.dropout,
        "learning_rate": 1e-3,
        "seed": None,
        "limit": None,
        "val": base.val,
        "mask": base.mask,
        "tokenizer": base.tokenizer,
        "buckets": arch.buckets,
        "ngrams": arch.ngrams,
    }
    values.update(preset_values)
    known = {f.name for f in fields(TrainSettings)}
    for key, value in overrides.items():
        if key not in known:
            raise TypeError(f"unknown setting {key}")
        if value is not None:
            values[key] = value
    settings = TrainSettings(**values)  # type: ignore[arg-type]
    validate(settings)
    return settings


def _preset_values(key: str, name: object, path: object) -> dict[str, object]:
    """The chosen preset's settings, with its name (a file's as `file:NAME`) under "preset"."""
    if path is None:
        preset_name = str(name or BOOK)
        return {"preset": preset_name, **get_preset(key, preset_name).settings}
    if name is not None:
        raise UsageError("--preset and --preset-file cannot be given together")
    from rnncli import presetfiles

    _, chosen = presetfiles.load(Path(str(path)))
    return {"preset": f"file:{Path(str(path)).name}", **chosen}


def validate(s: TrainSettings) -> None:
    """`train`'s checks of a full set of settings (also for those a search builds)."""
    problems = [
        (s.epochs >= 1, f"--epochs must be at least 1, got {s.epochs}"),
        (s.batch_size >= 1, f"--batch-size must be at least 1, got {s.batch_size}"),
        (s.patience >= 0, f"--patience must be 0 or more, got {s.patience}"),
        (s.limit is None or s.limit >= 2, f"--limit must be at least 2, got {s.limit}"),
        (s.strategy in STRATEGIES, f"--strategy must be one of {', '.join(STRATEGIES)}, got {s.strategy!r}"),
        (
            s.tokenizer in TOKENIZERS,
            f"--tokenizer must be one of {', '.join(TOKENIZERS)}, got {s.tokenizer!r}",
        ),
        (
            s.precision in PRECISIONS,
            f"--precision must be one of {', '.join(PRECISIONS)}, got {s.precision!r}",
        ),
    ]
    for ok, message in problems:
        if not ok:
            raise UsageError(message)
    # Checks the model's numbers too (num_words, maxlen, ...) before any data or TensorFlow.
    model_spec(s, num_classes=2)
    if s.val not in ("test", NO_VALIDATION):
        try:
            fraction = float(s.val)
        except ValueError:
            raise UsageError(
                f"--val must be 'test', 'none' or a fraction such as 0.2, got {s.val!r}"
            ) from None
        if not 0.0 < fraction < 1.0:
            raise UsageError(f"--val must be a fraction between 0 and 1 (exclusive), got {s.val}")


def model_spec(s: TrainSettings, num_classes: int) -> ModelSpec:
    return ModelSpec(
        arch=s.arch,
        num_words=s.num_words,
        maxlen=s.maxlen,
        num_classes=num_classes,
        embedding_dim=s.embedding_dim,
        units=s.units,
        dropout=s.dropout,
        learning_rate=s.learning_rate,
        mask=s.mask,
        buckets=s.buckets if s.arch in NGRAM_ARCHS else 0,
        ngrams=s.ngrams,
        pooling=s.pooling,
        attention=s.attention,
        # Row-sparse Adam for the n-gram tables (docs/performance.md); the book's models keep Adam.
        optimizer="lazy-adam" if s.arch in NGRAM_ARCHS else "adam",
    )
