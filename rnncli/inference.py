"""Running a saved model: LiteRT when the run has an export, Keras otherwise.

The LiteRT path imports neither TensorFlow nor Keras, so a cold `rnncli predict` answers in a
fraction of a second instead of paying TensorFlow's multi-second import.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np

from rnncli.errors import RunError
from rnncli.models.registry import ModelSpec

LITERT_FILE = "model.tflite"
# Rows per interpreter call: a fixed shape is not re-allocated (tens of ms for a long unrolled
# model) on every call, and small batches run faster in cache (measured: 2,500 vs 1,100 rows/s
# at 500 steps for 64 vs 1,024 rows). Shorter pieces are padded to it (`LiteRTModel.predict`).
CHUNK = 64


def narrow_file(width: int) -> str:
    return f"model.w{width}.tflite"


def litert_available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class LiteRTModel:
    """A LiteRT interpreter fed batches of any size at one fixed input shape."""

    def __init__(self, interpreter) -> None:
        self.interpreter = interpreter
        self.input = interpreter.get_input_details()[0]
        self.output = interpreter.get_output_details()[0]
        #: Rows the interpreter is allocated for: as given, then growing by powers of two to CHUNK.
        self.batch = int(self.input["shape"][0])

    @classmethod
    def from_bytes(cls, payload: bytes) -> LiteRTModel:
        from ai_edge_litert.interpreter import Interpreter

        from rnncli.backend import stderr_fd_silenced

        # The runtime announces its XNNPACK delegate on fd 2; keep stderr for real messages.
        with stderr_fd_silenced():
            interpreter = Interpreter(model_content=payload, num_threads=os.cpu_count() or 1)
            interpreter.allocate_tensors()
        return cls(interpreter)

    @classmethod
    def load(cls, path: Path, spec: ModelSpec, width: int | None = None) -> LiteRTModel:
        try:
            model = cls.from_bytes(Path(path).read_bytes())
        except (OSError, ValueError, RuntimeError) as exc:
            raise RunError(f"cannot load {path}: {exc}", "delete it to fall back to model.keras") from exc
        takes = int(model.input["shape"][-1])
        outputs = int(model.output["shape"][-1])
        expected = 1 if spec.num_classes == 2 else spec.num_classes
        if takes != (width or spec.maxlen) or outputs != expected:
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
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        if not len(ids):
            return np.zeros((0, int(self.output["shape"][-1])), dtype=np.float64)
        if len(ids) > self.batch and self.batch < CHUNK:
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

    def _allocate(self, rows: int) -> None:
        self.interpreter.resize_tensor_input(self.input["index"], [rows, int(self.input["shape"][-1])])
        self.interpreter.allocate_tensors()
        self.batch = rows

    def _invoke(self, ids: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input["index"], ids)
        try:
            self.interpreter.invoke()
        except RuntimeError as exc:  # e.g. an id past the embedding table of a tampered run
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "runtime error"
            raise RunError(f"the LiteRT model failed: {reason}", "delete model*.tflite to use Keras") from exc
        return np.array(self.interpreter.get_tensor(self.output["index"]), dtype=np.float64)


class LiteRTWidths:
    """Several exports of one masked model at different input widths.

    A masked model's output does not depend on padding, so each text can go through the
    narrowest export that holds it; short texts then cost a fraction of the recurrent steps.
    """

    def __init__(self, models: dict[int, LiteRTModel], maxlen: int) -> None:
        self.models = models
        self.widths = np.array(sorted(models))
        self.maxlen = maxlen

    def predict(self, ids: np.ndarray) -> np.ndarray:
        from rnncli.batching import lengths_of, width_for

        needed = np.array([width_for(n, self.maxlen) for n in lengths_of(ids)], dtype=np.int64)
        chosen = self.widths[np.searchsorted(self.widths, needed)]
        out = None
        for width in np.unique(chosen):
            rows = np.flatnonzero(chosen == width)
            result = self.models[int(width)].predict(ids[rows, self.maxlen - int(width) :])
            if out is None:
                out = np.empty((len(ids), result.shape[1]), dtype=np.float64)
            out[rows] = result
        return out if out is not None else np.zeros((0, 1))


class KerasModel:
    """The `.keras` model itself; needs TensorFlow."""

    def __init__(self, path: Path, spec: ModelSpec) -> None:
        from rnncli.models import persist

        self.keras_model = persist.load(path, spec)

    def predict(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.keras_model.predict_on_batch(ids), dtype=np.float64)


def load_model(run_dir: Path, model_file: str, spec: ModelSpec, prefer_litert: bool = True):
    """LiteRT when the run has an export and the runtime is installed, else Keras."""
    exported = Path(run_dir) / LITERT_FILE
    if prefer_litert and exported.is_file() and litert_available():
        full = LiteRTModel.load(exported, spec)
        if not spec.mask:
            return full
        models = {spec.maxlen: full}
        for path in Path(run_dir).glob("model.w*.tflite"):
            width = int(path.name.split(".")[1][1:])
            if 0 < width < spec.maxlen:
                models[width] = LiteRTModel.load(path, spec, width)
        return LiteRTWidths(models, spec.maxlen) if len(models) > 1 else full
    return KerasModel(Path(run_dir) / model_file, spec)
