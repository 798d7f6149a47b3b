"""int8 exports: LiteRT's dynamic-range quantization, kept only where it keeps the accuracy.

Dynamic-range quantization stores weights (embedding tables included) as int8 and computes in
float: files about a quarter of the size, which load faster, with outputs a little off the float
model's. So every int8 export is checked against its float twin on held-out rows (validation,
never the test set) and kept only if its accuracy there is at most `MAX_DROP` below; a check on
fewer than `MIN_ROWS` rows cannot see a 0.1-point change, so runs that small keep float only.
The check is recorded in the run (`metrics.json`'s `int8`), and `predict --precision float`
ignores the int8 files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rnncli.atomic import atomic_write_bytes
from rnncli.models.registry import ModelSpec

#: The most accuracy an int8 export may lose against the float one on the held-out rows.
MAX_DROP = 0.001
#: Fewer held-out rows than this cannot resolve a 0.1-point change: no int8 export.
MIN_ROWS = 1000
#: Held-out rows the check runs on, at most (seconds, not minutes, at the end of training).
MAX_ROWS = 5000


@dataclass(frozen=True)
class Int8Check:
    """What the int8 export scored against the float one on held-out rows, and whether it stays."""

    rows: int
    float_accuracy: float
    int8_accuracy: float
    agreement: float
    kept: bool

    def to_dict(self) -> dict:
        return asdict(self)


def int8_name(float_name: str) -> str:
    """`model.tflite` -> `model.int8.tflite` (and `model.w64.tflite` -> `model.w64.int8.tflite`)."""
    return float_name[: -len(".tflite")] + ".int8.tflite"


def quantize_all(
    model,
    spec: ModelSpec,
    folder: Path,
    widths: list[int],
    x: np.ndarray,
    y: np.ndarray,
    on_width: Callable[[int], None] | None = None,
    min_rows: int = MIN_ROWS,
) -> Int8Check | None:
    """Write an int8 twin of each float export in `folder` (and of an n-gram run's grams file),
    check them together, keep or drop them.

    None when there are too few held-out rows to check on (nothing is written).
    """
    from rnncli.inference import LITERT_FILE, LiteRTModel, load_model, narrow_file
    from rnncli.models.export import convert, convert_grams
    from rnncli.models.ngram_ids import GRAMS_FILE

    if len(x) < max(min_rows, 1):
        return None
    x, y = x[:MAX_ROWS], np.asarray(y[:MAX_ROWS]).ravel()
    grams = (Path(folder) / GRAMS_FILE).is_file()  # an n-gram run: its twin is what `predict` loads
    written = []
    for width in widths:
        if on_width is not None:
            on_width(width)
        name = LITERT_FILE if width == spec.maxlen else narrow_file(width)
        path = Path(folder) / int8_name(name)
        atomic_write_bytes(path, convert(model, spec, None if width == spec.maxlen else width, int8=True))
        written.append(path)
        if width == spec.maxlen and grams:
            written.append(Path(folder) / int8_name(GRAMS_FILE))
            atomic_write_bytes(written[-1], convert_grams(model, int8=True))
    float_labels = _labels(load_model(folder, "", spec, precision="float").predict(x))
    int8_labels = _labels(load_model(folder, "", spec, precision="int8").predict(x))
    float_accuracy = round(float(np.mean(float_labels == y)), 6)
    int8_accuracy = round(float(np.mean(int8_labels == y)), 6)
    if grams:
        # `predict` answered from the grams twin above; `model.int8.tflite` (for `export`, and
        # for `predict` if the grams file goes) is checked too, and the worse of the two counts.
        words = LiteRTModel.load(Path(folder) / int8_name(LITERT_FILE), spec).predict(x)
        int8_accuracy = min(int8_accuracy, round(float(np.mean(_labels(words) == y)), 6))
    kept = int8_accuracy >= float_accuracy - MAX_DROP
    if not kept:
        for path in written:
            path.unlink(missing_ok=True)
    agreement = round(float(np.mean(float_labels == int8_labels)), 6)
    return Int8Check(len(x), float_accuracy, int8_accuracy, agreement, kept)


def _labels(outputs: np.ndarray) -> np.ndarray:
    if outputs.shape[1] == 1:
        return (outputs[:, 0] >= 0.5).astype(np.int64)
    return outputs.argmax(axis=1)
