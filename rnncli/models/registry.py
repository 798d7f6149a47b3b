"""Architecture names, their descriptions and default hyperparameters.

Kept free of Keras so that the CLI can list and validate names without importing TensorFlow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rnncli.errors import UsageError


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    embedding_dim: int
    units: int
    dropout: float
    #: Hash buckets for word n-grams, and the longest n-gram hashed (bag-of-n-grams models only).
    buckets: int = 0
    ngrams: int = 2


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("lstm", "Embedding -> LSTM -> Dense (book section 1, Reuters)", 100, 100, 0.0),
        Architecture(
            "cnn-lstm",
            "Embedding -> Dropout -> Conv1D(64, 5) -> MaxPooling1D(4) -> LSTM -> Dense (book section 2)",
            100,
            55,
            0.5,
        ),
        Architecture(
            "attention",
            "Embedding -> Dropout -> LSTM(seq) -> Luong attention(128) -> Dropout -> Dense (book section 3)",
            500,
            64,
            0.5,
        ),
        Architecture("gru", "Embedding -> GRU -> Dense", 100, 100, 0.0),
        Architecture("bilstm", "Embedding -> Bidirectional(LSTM) -> Dense", 100, 64, 0.0),
        Architecture(
            "fasttext",
            "Words + hashed bigrams -> Embedding -> masked average -> Dropout -> Dense (fastText-style)",
            64,
            0,
            0.0,
            200_000,
        ),
        Architecture(
            "nbsvm",
            "Distinct words + hashed 2- and 3-grams -> Naive Bayes log-count ratios x learned weights "
            "-> Dense (NBSVM)",
            1,
            0,
            0.0,
            2_000_000,
            3,
        ),
    )
}


POOLINGS = ("mean", "sqrtn")
#: The attention architecture's block: "luong" is the book's; "pool" has a learned query and no
#: shortcut around the weights (`layers.AttentionPooling`).
ATTENTIONS = ("luong", "pool")

#: Bag-of-n-grams architectures: no recurrent layer (`units` means nothing), and an embedding
#: with a row per word and per n-gram bucket.
NGRAM_ARCHS = ("fasttext", "nbsvm")
NO_UNITS = NGRAM_ARCHS


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise UsageError(
            f"unknown architecture {name!r}", f"choose one of: {', '.join(ARCHITECTURES)}"
        ) from None


OPTIMIZERS = ("adam", "lazy-adam")


@dataclass(frozen=True)
class ModelSpec:
    """Everything a factory needs; saved in the run config so the model can be rebuilt."""

    arch: str
    num_words: int
    maxlen: int
    num_classes: int
    embedding_dim: int
    units: int
    dropout: float
    learning_rate: float = 1e-3
    #: Padding (id 0) is masked: recurrent layers and attention skip it, so outputs do not depend
    #: on how much padding a batch carries and training can batch texts by length. False is the
    #: book's arithmetic, where the recurrent layers read the padding too.
    mask: bool = False
    #: Hash buckets for word n-grams; only the `NGRAM_ARCHS` use them, and their embeddings hold
    #: `num_words + buckets` rows.
    buckets: int = 0
    #: The longest n-gram hashed (2 or 3; `NGRAM_ARCHS`), and how fasttext pools the bag: "mean"
    #: (fastText's own: every occurrence counts) or "sqrtn" (distinct ids, sum divided by the
    #: square root of their number: a binary bag, L2-normalised as TF-IDF pipelines do).
    ngrams: int = 2
    pooling: str = "mean"
    #: attention only: which attention block, one of `ATTENTIONS`.
    attention: str = "luong"
    #: "adam", or "lazy-adam" (`rnncli.models.optimizers.LazyAdam`: updates only the embedding
    #: rows a batch touches; what n-gram models train with since it was measured to keep their
    #: accuracy at a fraction of the time). Runs made before it was recorded used "adam".
    optimizer: str = "adam"

    def __post_init__(self) -> None:
        get_architecture(self.arch)
        checks = [
            (
                self.num_words >= 4,
                f"num_words must be at least 4 (ids 0-3 are reserved), got {self.num_words}",
            ),
            (self.maxlen >= 1, f"maxlen must be at least 1, got {self.maxlen}"),
            (self.num_classes >= 2, f"need at least 2 classes, got {self.num_classes}"),
            (self.embedding_dim >= 1, f"embedding_dim must be at least 1, got {self.embedding_dim}"),
            (
                self.units >= 1 or self.arch in NO_UNITS,
                f"units must be at least 1, got {self.units}",
            ),
            (self.buckets >= 0, f"buckets must be 0 or more, got {self.buckets}"),
            (2 <= self.ngrams <= 5, f"ngrams must be 2 to 5, got {self.ngrams}"),
            (self.pooling in POOLINGS, f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling}"),
            (
                self.attention in ATTENTIONS,
                f"attention must be one of {', '.join(ATTENTIONS)}, got {self.attention}",
            ),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.learning_rate > 0, f"learning_rate must be positive, got {self.learning_rate}"),
        ]
        if self.arch == "cnn-lstm":
            checks.append((self.maxlen >= 8, f"cnn-lstm needs maxlen of at least 8, got {self.maxlen}"))
        for ok, message in checks:
            if not ok:
                raise UsageError(message)

    @property
    def embedding_rows(self) -> int:
        """Rows of the embedding matrix: the words, then the bigram buckets."""
        return self.num_words + (self.buckets if self.arch in NGRAM_ARCHS else 0)

    def to_dict(self) -> dict:
        return asdict(self)
