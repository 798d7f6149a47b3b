"""Running a saved model: LiteRT when the run has an export, Keras otherwise.

The LiteRT path imports neither TensorFlow nor Keras, so a cold `rnncli predict` answers in a
fraction of a second instead of paying TensorFlow's multi-second import.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from rnncli.errors import RunError
from rnncli.models.ngram_ids import GRAMS_FILE, hashed_ngrams, keeps_distinct
from rnncli.models.registry import NGRAM_ARCHS, ModelSpec

LITERT_FILE = "model.tflite"
# Rows per interpreter call: a fixed shape is not re-allocated (tens of ms for a long unrolled
# model) on every call, and small batches run faster in cache (measured: 2,500 vs 1,100 rows/s
# at 500 steps for 64 vs 1,024 rows). Shorter pieces are padded to it (`LiteRTModel.predict`).
CHUNK = 64
#: The narrowest width a free-width (bag-of-n-grams) export is run at: fewer widths, fewer
#: re-allocations.
MIN_FREE_WIDTH = 16


def narrow_file(width: int) -> str:
    return f"model.w{width}.tflite"


#: Turns id rows into what an export takes (`grams_of`).
Prepare = Callable[[np.ndarray], np.ndarray]


def grams_of(spec: ModelSpec) -> Prepare:
    """Word id rows to the n-gram id rows an n-gram run's `GRAMS_FILE` takes."""
    return partial(
        hashed_ngrams,
        num_words=spec.num_words,
        buckets=spec.buckets,
        order=spec.ngrams,
        distinct=keeps_distinct(spec),
    )


@dataclass(frozen=True)
class Staged:
    """A batch made ready for a model (`stage`), to be run later, maybe on another thread."""

    rows: int
    #: (which rows, the model's input for them); a slice(None) means all rows, in order.
    groups: list[tuple[np.ndarray | slice, np.ndarray]]


def litert_available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class LiteRTModel:
    """A LiteRT interpreter fed batches of any size at one fixed input shape.

    `prepare`, if given, turns each group of id rows into what the export takes (the n-gram
    ids of `grams_of`) in `stage`, which `predict` runs first; a caller that overlaps reading
    with the model (`Predictor.stream`) stages on its own thread and runs on another.
    """

    def __init__(self, interpreter, prepare: Prepare | None = None) -> None:
        self.interpreter = interpreter
        self.prepare = prepare
        self.input = interpreter.get_input_details()[0]
        self.output = interpreter.get_output_details()[0]
        #: Rows the interpreter is allocated for: as given, then growing by powers of two to CHUNK.
        self.batch = int(self.input["shape"][0])
        #: Tokens per row it is allocated for; a bag-of-n-grams export takes any width (`free`).
        self.width = int(self.input["shape"][-1])
        self.free = int(self.input.get("shape_signature", self.input["shape"])[-1]) == -1

    @classmethod
    def from_bytes(cls, payload: bytes, prepare: Prepare | None = None) -> LiteRTModel:
        from ai_edge_litert.interpreter import Interpreter

        from rnncli.backend import stderr_fd_silenced

        # A grams export only looks up and sums, while its caller's thread is busy making the
        # n-gram ids of the next batch: one interpreter thread left that thread a core. 10,000
        # IMDB reviews through an nbsvm run, in process: 0.475 s against 0.562 s with two
        # (medians of 6, docs/performance.md). Other exports keep every core (their matrix
        # products gain from it: one thread was slower for cnn-lstm, 2.02 s against 1.66 s).
        threads = 1 if prepare is not None else os.cpu_count() or 1
        # The runtime announces its XNNPACK delegate on fd 2; keep stderr for real messages.
        with stderr_fd_silenced():
            interpreter = Interpreter(model_content=payload, num_threads=threads)
            interpreter.allocate_tensors()
        return cls(interpreter, prepare)

    @classmethod
    def load(
        cls,
        path: Path,
        spec: ModelSpec,
        width: int | None = None,
        prepare: Prepare | None = None,
    ) -> LiteRTModel:
        try:
            model = cls.from_bytes(Path(path).read_bytes(), prepare)
        except (OSError, ValueError, RuntimeError) as exc:
            raise RunError(
                f"cannot load {path}: {exc}", "delete it to fall back to the run's other model files"
            ) from exc
        takes = int(model.input["shape"][-1])
        outputs = int(model.output["shape"][-1])
        expected = 1 if spec.num_classes == 2 else spec.num_classes
        if (not model.free and takes != (width or spec.maxlen)) or outputs != expected:
            raise RunError(
                f"{path}: takes {takes} tokens and gives {outputs} outputs, but the config says "
                f"maxlen {width or spec.maxlen} and {spec.num_classes} classes"
            )
        # Narrow exports share the full one's weights; checking that one is enough (and costs ms).
        vocabulary = model.vocabulary_size() if width is None else None
        if vocabulary is not None and vocabulary != spec.embedding_rows:
            # Ids past the table would stop the interpreter mid-stream; refuse before any input.
            raise RunError(
                f"{path}: model's vocabulary size {vocabulary} disagrees with "
                f"config num_words {spec.num_words}"
                + (f" + buckets {spec.buckets}" if spec.embedding_rows != spec.num_words else "")
            )
        return model

    def vocabulary_size(self) -> int | None:
        """Rows of the embedding table (the first GATHER's table), or None if it cannot be told.

        Uses the interpreter's op listing, which is private API: a runtime without it skips this
        check rather than failing.
        """
        try:
            for index in itertools.count():
                op = self.interpreter._get_op_details(index)
                if op["op_name"] == "GATHER":
                    shape = self.interpreter._get_tensor_details(int(op["inputs"][0]), 0)["shape"]
                    return int(shape[0]) if len(shape) == 2 else None
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            pass
        return None

    def predict(self, ids: np.ndarray) -> np.ndarray:
        """Outputs for `ids`, run CHUNK rows at a time.

        The interpreter keeps one input shape and only ever grows it: a call that fits the rows
        it is allocated for (one after loading, so a single text costs one row) runs at that
        shape, a larger one moves it to the next power of two, at most CHUNK. Shorter pieces are
        padded with copies of their own last row, whose outputs are dropped. Without padding
        the interpreter was re-allocated for the remainder of every width group and back (49
        times for 3 x 1,024 texts); a review measured in-process throughput rising from about
        2,900 to 4,100 texts/s with it. Padded rows are not free, though: on a loaded 2-core
        machine a 20-row remainder padded to 64 cost more CPU than re-allocating, so re-measure
        (benchmarks/predict_throughput.py) before changing this. Growing by powers of two rather
        than straight to CHUNK keeps an export that only ever sees a few rows small (42 MB less
        peak for a maxlen-500 run with six widths on benchmarks/predict_memory.py).
        """
        return self.run(self.stage(ids))

    def stage(self, ids: np.ndarray) -> Staged:
        """The interpreter's inputs for `ids`: groups of rows, each at the width it runs at."""
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        if not len(ids):
            return Staged(0, [])
        if self.free:
            return Staged(len(ids), list(self._groups_by_width(ids)))
        return Staged(len(ids), [(slice(None), self.prepare(ids) if self.prepare else ids)])

    def run(self, staged: Staged) -> np.ndarray:
        """Outputs for what `stage` made, in the order of its rows."""
        out = np.empty((staged.rows, int(self.output["shape"][-1])), dtype=np.float64)
        for rows, group in staged.groups:
            out[rows] = self._predict_rows(group)
        return out

    def _groups_by_width(self, ids: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """A free-width export runs each group of texts at the power of two that holds them.

        Pre-padded rows keep their text at the end and padding adds nothing to an n-gram
        model's output, so cutting a row to its last `width` ids changes no output. IMDB
        reviews average 230 tokens against a `maxlen` of 1,000: most work was padding.
        """
        real = ids != 0
        # From the first real id on, not a count of them: a row's own zeros stay inside its cut.
        span = ids.shape[1] - np.where(real.any(axis=1), real.argmax(axis=1), ids.shape[1])
        needed = np.maximum(span, MIN_FREE_WIDTH)
        widths = np.minimum(1 << np.ceil(np.log2(needed)).astype(np.int64), ids.shape[1])
        # Not np.unique: it imports numpy.ma (8 ms of a cold predict).
        for width in sorted(set(widths.tolist())):
            rows = np.flatnonzero(widths == width)
            cut = ids[rows, ids.shape[1] - int(width) :]
            yield rows, self.prepare(cut) if self.prepare else np.ascontiguousarray(cut)

    def _predict_rows(self, ids: np.ndarray) -> np.ndarray:
        """`ids`: contiguous int32 rows of one width, as `stage` makes them."""
        if self.width != ids.shape[1]:
            self._allocate(min(CHUNK, 1 << (len(ids) - 1).bit_length()), ids.shape[1])
        elif len(ids) > self.batch and self.batch < CHUNK:
            self._allocate(min(CHUNK, 1 << (len(ids) - 1).bit_length()))
        rows = self.batch
        out = []
        for start in range(0, len(ids), rows):
            piece = ids[start : start + rows]
            real = len(piece)
            if real < rows:
                piece = np.concatenate([piece, np.repeat(piece[-1:], rows - real, axis=0)])
            out.append(self._invoke(piece)[:real])
        return np.concatenate(out) if len(out) > 1 else out[0]

    def _allocate(self, rows: int, width: int | None = None) -> None:
        width = width or self.width
        self.interpreter.resize_tensor_input(self.input["index"], [rows, width])
        self.interpreter.allocate_tensors()
        self.batch, self.width = rows, width

    def _invoke(self, ids: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input["index"], ids)
        try:
            self.interpreter.invoke()
        except RuntimeError as exc:  # e.g. an id past the embedding table of a tampered run
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "runtime error"
            raise RunError(f"the LiteRT model failed: {reason}", "delete model*.tflite to use Keras") from exc
        return np.array(self.interpreter.get_tensor(self.output["index"]), dtype=np.float64)


class WholeBatch:
    """A model with nothing to stage: `run` predicts the ids as they were given."""

    def predict(self, ids: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def stage(self, ids: np.ndarray) -> Staged:
        return Staged(len(ids), [(slice(None), ids)])

    def run(self, staged: Staged) -> np.ndarray:
        return self.predict(staged.groups[0][1])


class LiteRTWidths(WholeBatch):
    """Several exports of one masked model at different input widths.

    A masked model's output does not depend on padding, so each text can go through the
    narrowest export that holds it; short texts then cost a fraction of the recurrent steps.
    Narrow exports are loaded (and checked) when a text first needs them: a cold `predict` of
    one short review loads two interpreters, not six.
    """

    def __init__(self, models: dict[int, LiteRTModel | Path], maxlen: int, spec: ModelSpec) -> None:
        self.models = models
        self.widths = np.array(sorted(models))
        self.maxlen = maxlen
        self.spec = spec

    def _model(self, width: int) -> LiteRTModel:
        model = self.models[width]
        if isinstance(model, Path):
            model = self.models[width] = LiteRTModel.load(model, self.spec, width)
        return model

    def predict(self, ids: np.ndarray) -> np.ndarray:
        from rnncli.batching import lengths_of, width_for

        needed = np.array([width_for(n, self.maxlen) for n in lengths_of(ids)], dtype=np.int64)
        chosen = self.widths[np.searchsorted(self.widths, needed)]
        out = None
        for width in sorted(set(chosen.tolist())):
            rows = np.flatnonzero(chosen == width)
            result = self._model(int(width)).predict(ids[rows, self.maxlen - int(width) :])
            if out is None:
                out = np.empty((len(ids), result.shape[1]), dtype=np.float64)
            out[rows] = result
        return out if out is not None else np.zeros((0, 1))


class KerasModel(WholeBatch):
    """The `.keras` model itself; needs TensorFlow."""

    precision = "keras"

    def __init__(self, path: Path, spec: ModelSpec) -> None:
        from rnncli.models import persist

        self.keras_model = persist.load(path, spec)

    def predict(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.keras_model.predict_on_batch(ids), dtype=np.float64)


#: `load_model`'s choices: int8 exports where the run kept them (`auto`), float ones only
#: (`float`), or int8 only (`int8`: for the export-time check).
PRECISIONS = ("auto", "float", "int8")


def exports(run_dir: Path, int8: bool) -> dict[int, Path]:
    """The run's LiteRT files of one precision by input width (`model.tflite` under width 0)."""
    found = {}
    for path in Path(run_dir).glob("model*.tflite"):
        parts = path.name.split(".")  # model[.wN][.int8].tflite
        if (parts[-2] == "int8") != int8:
            continue
        middle = parts[1:-2] if int8 else parts[1:-1]
        if not middle:
            found[0] = path
        elif len(middle) == 1 and middle[0][:1] == "w" and middle[0][1:].isdigit():
            found[int(middle[0][1:])] = path
    return found


def load_model(
    run_dir: Path, model_file: str, spec: ModelSpec, prefer_litert: bool = True, precision: str = "auto"
):
    """LiteRT when the run has an export and the runtime is installed, else Keras.

    `auto` takes the int8 exports when the run has them: they are only kept when they scored
    within 0.1 point of the float ones at export time (`rnncli.models.quantize`).
    """
    if prefer_litert and litert_available():
        files = exports(run_dir, int8=True) if precision != "float" else {}
        if 0 not in files and precision != "int8":
            files = exports(run_dir, int8=False)
        if 0 in files:
            int8 = files[0].name.endswith(".int8.tflite")
            model = _litert(files, spec, int8)
            #: Which arithmetic answers: "int8", "float" (LiteRT) or "keras".
            model.precision = "int8" if int8 else "float"
            return model
    return KerasModel(Path(run_dir) / model_file, spec)


def _litert(files: dict[int, Path], spec: ModelSpec, int8: bool) -> LiteRTModel | LiteRTWidths:
    from rnncli.models.quantize import int8_name

    grams = files[0].with_name(int8_name(GRAMS_FILE) if int8 else GRAMS_FILE)
    if spec.arch in NGRAM_ARCHS and grams.is_file():
        # Runs exported before there was a grams file keep the slower word-id export.
        return LiteRTModel.load(grams, spec, prepare=grams_of(spec))
    full = LiteRTModel.load(files[0], spec)
    if not spec.mask:
        return full
    models: dict[int, LiteRTModel | Path] = {spec.maxlen: full}
    models.update((width, path) for width, path in files.items() if 0 < width < spec.maxlen)
    return LiteRTWidths(models, spec.maxlen, spec) if len(models) > 1 else full
