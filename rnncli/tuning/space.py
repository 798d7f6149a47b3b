"""What `rnncli tune` searches: the settings of `train`, by architecture family.

Parameters are named per family (`rnn.units`, `nbsvm.buckets`, ...) because Optuna's samplers
learn one distribution per name: a name whose choices changed with the architecture would mix
two different things. The space is plain data, so a study can record it and a later run can
check that it continues the same search.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rnncli.errors import UsageError
from rnncli.models.registry import ARCHITECTURES, NGRAM_ARCHS

#: The families whose settings differ: recurrent models, the two bag-of-n-grams models.
RECURRENT = "rnn"
LEARNING_RATES = (1e-4, 1e-2)
BATCH_SIZES = (16, 32, 64, 128, 256)
NUM_WORDS = (2000, 5000, 10000, 20000, 40000)
RNN_EMBEDDING = (32, 64, 128, 256)
RNN_UNITS = (32, 64, 128)
FASTTEXT_EMBEDDING = (16, 32, 64, 128)
FASTTEXT_BUCKETS = (100_000, 200_000, 500_000, 1_000_000)
#: Up to 10 million: with fewer, the character n-grams of 120,000 Korean reviews collide enough to
#: cost validation accuracy (NSMC's preset).
NBSVM_BUCKETS = (500_000, 2_000_000, 5_000_000, 10_000_000)
#: Where the data has a choice of tokenizer: Korean text suits pieces and morphemes; the
#: n-gram models also take characters with pieces (NSMC's `--preset best`).
ENGLISH_TOKENIZERS = ("words", "subword")
KOREAN_TOKENIZERS = ("subword", "morphemes")
KOREAN_NGRAM_TOKENIZERS = ("subword", "morphemes", "chars+subword")
KOREAN_DATASETS = ("nsmc",)


def family(arch: str) -> str:
    return arch if arch in NGRAM_ARCHS else RECURRENT


@dataclass(frozen=True)
class SearchSpace:
    """The choices of one study; `record()` is what the study stores to recognise itself."""

    archs: tuple[str, ...]
    #: Per family, the tokenizers to choose from (one: fixed).
    tokenizers: dict[str, tuple[str, ...]]
    maxlens: tuple[int, ...]
    num_words: tuple[int, ...] = NUM_WORDS
    #: Settings the user fixed (`--fix NAME=VALUE`): not searched.
    fixed: dict[str, object] = field(default_factory=dict)

    def record(self) -> dict:
        payload = asdict(self)
        payload["tokenizers"] = {name: list(values) for name, values in sorted(self.tokenizers.items())}
        payload["fixed"] = dict(sorted(self.fixed.items()))
        return payload

    def suggest(self, trial) -> dict[str, object]:
        """The settings of one trial, as `train`'s option names, from an Optuna trial.

        A setting in `fixed` is not a parameter: it takes its value wherever the trial's
        architecture uses it.
        """
        arch = _choose(trial, "arch", self.archs)
        kind = family(arch)
        chosen: dict[str, object] = {"arch": arch}

        def pick(setting: str, name: str, draw) -> None:
            chosen[setting] = self.fixed[setting] if setting in self.fixed else draw(name)

        chosen["tokenizer"] = _choose(trial, f"{kind}.tokenizer", self.tokenizers[kind])
        pick("learning_rate", "learning_rate", lambda n: trial.suggest_float(n, *LEARNING_RATES, log=True))
        pick("batch_size", "batch_size", lambda n: trial.suggest_categorical(n, BATCH_SIZES))
        pick("num_words", "num_words", lambda n: trial.suggest_categorical(n, self.num_words))
        pick("maxlen", "maxlen", lambda n: trial.suggest_categorical(n, self.maxlens))
        if kind == RECURRENT:
            pick("embedding_dim", "rnn.embedding_dim", lambda n: trial.suggest_categorical(n, RNN_EMBEDDING))
            pick("units", "rnn.units", lambda n: trial.suggest_categorical(n, RNN_UNITS))
            pick("dropout", "rnn.dropout", lambda n: trial.suggest_float(n, 0.0, 0.5, step=0.1))
            if arch == "attention":
                pick(
                    "attention", "attention.block", lambda n: trial.suggest_categorical(n, ("luong", "pool"))
                )
        elif kind == "fasttext":
            pick(
                "embedding_dim",
                "fasttext.embedding_dim",
                lambda n: trial.suggest_categorical(n, FASTTEXT_EMBEDDING),
            )
            pick("dropout", "fasttext.dropout", lambda n: trial.suggest_float(n, 0.0, 0.5, step=0.1))
            pick("ngrams", "fasttext.ngrams", lambda n: trial.suggest_int(n, 2, 3))
            pick("buckets", "fasttext.buckets", lambda n: trial.suggest_categorical(n, FASTTEXT_BUCKETS))
            pick("pooling", "fasttext.pooling", lambda n: trial.suggest_categorical(n, ("mean", "sqrtn")))
        else:
            pick("ngrams", "nbsvm.ngrams", lambda n: trial.suggest_int(n, 2, 5))
            pick("buckets", "nbsvm.buckets", lambda n: trial.suggest_categorical(n, NBSVM_BUCKETS))
        if kind in NGRAM_ARCHS:
            chosen["mask"] = True  # the n-gram models average over real tokens only, as the presets do
        return chosen


def _choose(trial, name: str, choices: tuple) -> object:
    """A categorical choice; a single choice is fixed and not a parameter at all."""
    return choices[0] if len(choices) == 1 else trial.suggest_categorical(name, choices)


def build_space(
    dataset_key: str,
    default_maxlen: int,
    archs: tuple[str, ...],
    tokenizer: str | None,
    available,
    fixed: dict[str, object] | None = None,
) -> SearchSpace:
    """The space for a corpus: the architectures asked for, tokenizers its language can use.

    `available(name)` says whether a tokenizer's library is installed: a search offers only
    what can run here. Maxlen choices scale the corpus's default (half to four times), since
    a good length depends on how long its texts are.
    """
    unknown = [name for name in archs if name not in ARCHITECTURES]
    if unknown:
        raise UsageError(
            f"--arch: unknown architecture {unknown[0]!r}", f"choose from: {', '.join(ARCHITECTURES)}"
        )
    if not archs:
        raise UsageError("--arch names no architecture: the search space is empty")
    tokenizers = {}
    for kind in {family(arch) for arch in archs}:
        if tokenizer is not None:
            options: tuple[str, ...] = (tokenizer,)
        elif dataset_key in KOREAN_DATASETS:
            options = KOREAN_NGRAM_TOKENIZERS if kind in NGRAM_ARCHS else KOREAN_TOKENIZERS
        else:
            options = ENGLISH_TOKENIZERS
        usable = tuple(name for name in options if available(name))
        if not usable:
            raise UsageError(
                f"no tokenizer of {', '.join(options)} is installed for the {kind} models",
                "pip install 'rnncli[subword]' (or name one with --tokenizer)",
            )
        tokenizers[kind] = usable
    maxlens = tuple(
        sorted({max(8, default_maxlen // 2), default_maxlen, default_maxlen * 2, default_maxlen * 4})
    )
    return SearchSpace(tuple(dict.fromkeys(archs)), tokenizers, maxlens, fixed=dict(fixed or {}))


#: What `--fix` may set: the searched settings other than the architecture and tokenizer, which
#: have options of their own.
FIXABLE = {
    "learning_rate": float,
    "batch_size": int,
    "num_words": int,
    "maxlen": int,
    "embedding_dim": int,
    "units": int,
    "dropout": float,
    "ngrams": int,
    "buckets": int,
    "pooling": str,
    "attention": str,
}


def parse_fixed(items: list[str]) -> dict[str, object]:
    """`["buckets=20000", "dropout=0.2"]` -> `{"buckets": 20000, "dropout": 0.2}`, checked."""
    fixed: dict[str, object] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in FIXABLE:
            raise UsageError(f"--fix takes NAME=VALUE with NAME one of {', '.join(FIXABLE)}, got {item!r}")
        kind = FIXABLE[name]
        try:
            fixed[name] = kind(text.strip())
        except ValueError:
            raise UsageError(
                f"--fix {name} needs {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
    return fixed
