"""Export a trained model to LiteRT, so that `predict` answers without importing TensorFlow.

The converter cannot lower Keras 3's recurrent `while` loops (tensor-list ops), so the model is
rebuilt with its recurrent layers unrolled over a fixed `maxlen` and given the trained weights;
the arithmetic is the same, step by step. The export is checked against Keras on real rows and
kept only if every output agrees within `TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from rnncli.atomic import atomic_write_bytes
from rnncli.backend import keras, stdout_and_stderr_silenced, tensorflow
from rnncli.errors import RnncliError
from rnncli.models.ngram_ids import GRAMS_FILE
from rnncli.models.registry import NGRAM_ARCHS, ModelSpec

TOLERANCE = 1e-4
_RECURRENT = ("LSTM", "GRU", "SimpleRNN")


def unrolled_copy(model, spec: ModelSpec, width: int | None = None):
    """The same model with fixed-length input and unrolled recurrent layers, same weights.

    Bag-of-n-grams models have nothing to unroll: their copy keeps a free input width, so one
    export (`LiteRTModel` resizes it) runs each text at about its own length.
    """
    config = model.get_config()
    for layer in config["layers"]:
        inner = layer["config"]
        if layer["class_name"] == "InputLayer":
            free = spec.arch in NGRAM_ARCHS and width is None
            inner["batch_shape"] = [None, None if free else width or spec.maxlen]
        if layer["class_name"] in _RECURRENT:
            inner["unroll"] = True
        if layer["class_name"] == "Bidirectional":
            for key in ("layer", "backward_layer"):
                if key in inner:
                    inner[key]["config"]["unroll"] = True
    copy = keras().Model.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def _converted(model, int8: bool) -> bytes:
    tf = tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # The converter saves a temporary SavedModel and prints its signature to stdout.
    with stdout_and_stderr_silenced():
        return converter.convert()


def convert(model, spec: ModelSpec, width: int | None = None, int8: bool = False) -> bytes:
    """LiteRT flatbuffer bytes; `int8`: with dynamic-range quantization (`rnncli.models.quantize`)."""
    try:
        return _converted(unrolled_copy(model, spec, width), int8)
    except Exception:  # noqa: BLE001 - the converter's errors have no common base
        if spec.arch not in NGRAM_ARCHS or width is not None:
            raise
    # A layer the converter cannot take at a free width: the fixed width always converts.
    return _converted(unrolled_copy(model, spec, spec.maxlen), int8)


def grams_model(model):
    """The n-gram model from its n-gram ids on (the `ngrams` layer's output): `GRAMS_FILE`."""
    k = keras()
    tail = k.Model(model.get_layer("ngrams").output, model.output)
    grams = k.Input(shape=(None,), dtype="int32", name="grams")
    return k.Model(grams, tail(grams))


def convert_grams(model, int8: bool = False) -> bytes:
    """LiteRT bytes of `grams_model(model)`, at a free width."""
    return _converted(grams_model(model), int8)


def export_litert(model, spec: ModelSpec, path, sample: np.ndarray, width: int | None = None) -> float:
    """Write `path` if the LiteRT model matches Keras on `sample`; return the largest difference.

    With `width`, the export takes rows of that many tokens (for masked models, whose output
    does not depend on padding); `sample` rows are then cut to their last `width` ids.
    """
    from rnncli.inference import LiteRTModel

    payload = convert(model, spec, width)
    rows = sample[:, sample.shape[1] - width :] if width else sample
    return _write_if_equal(model, sample, LiteRTModel.from_bytes(payload), rows, payload, path)


def export_grams(model, spec: ModelSpec, path, sample: np.ndarray) -> float:
    """Write `path` (`GRAMS_FILE`) if the grams export, fed n-gram ids made by NumPy
    (`rnncli.models.ngram_ids`), matches Keras on `sample`: one check for both."""
    from rnncli.inference import LiteRTModel, grams_of

    payload = convert_grams(model)
    litert = LiteRTModel.from_bytes(payload, prepare=grams_of(spec))
    return _write_if_equal(model, sample, litert, sample, payload, path)


def _write_if_equal(model, sample: np.ndarray, litert, rows: np.ndarray, payload: bytes, path) -> float:
    expected = np.asarray(model.predict_on_batch(sample), dtype=np.float64)
    got = litert.predict(rows)
    difference = float(np.max(np.abs(got - expected))) if len(sample) else 0.0
    if not difference <= TOLERANCE:
        raise RnncliError(f"LiteRT export differs from Keras by {difference:.2e}; kept Keras only")
    atomic_write_bytes(path, payload)
    return difference


#: Bytes per weight a LiteRT conversion holds at its peak, beyond the trained model: the
#: converter's frozen constants, its flatbuffer, the bytes returned and the interpreter that
#: checks them. Measured: a 46-class NBSVM of 5 million buckets (462 million weights, ratios
#: and weights) peaked at 22.1 GB in its export, 14.7 GB above the 7.4 GB it held before.
CONVERSION_BYTES_PER_WEIGHT = 32


def conversion_bytes(model) -> int:
    """About how much more memory converting `model` takes: a large n-gram table's export can
    need more than its training did."""
    return int(model.count_params()) * CONVERSION_BYTES_PER_WEIGHT


def narrow_widths(maxlen: int) -> list[int]:
    """Extra input widths exported for masked models: about 1/8, 1/4, 3/8, 1/2 and 3/4 of maxlen.

    Work per text grows with the width it is run at, so the steps between widths bound the
    wasted work; on IMDB test reviews these five cut it by 13% against 1/8, 1/4 and 1/2 alone.
    """
    from rnncli.batching import PAD_CONTEXT, width_for

    fractions = (1 / 8, 1 / 4, 3 / 8, 1 / 2, 3 / 4)
    widths = {width_for(max(1, int(maxlen * f) - PAD_CONTEXT), maxlen) for f in fractions}
    return sorted(w for w in widths if 16 <= w < maxlen)


def planned_widths(spec: ModelSpec, sample: np.ndarray) -> list[int]:
    """The widths `export_all` writes: maxlen, then the narrow widths some sample row needs.

    Narrow exports are only for masked recurrent models. Bag-of-n-grams models get one export
    of free width instead (`unrolled_copy`): each narrow file would repeat their n-gram tables
    (on 5,000 IMDB reviews, nbsvm's five narrow files made `predict -` 8% faster at 80 MB more
    per run, and the Reuters fasttext preset's made it 30% slower, loading 280 MB more).
    """
    from rnncli.batching import lengths_of, width_for

    widths = [spec.maxlen]
    if spec.mask and spec.arch not in NGRAM_ARCHS:
        needed = np.array([width_for(n, spec.maxlen) for n in lengths_of(sample)])
        narrower = 0
        for width in narrow_widths(spec.maxlen):
            # Only widths that some sample text would be routed to: a corpus of short texts
            # needs one narrow export, not five (each conversion takes seconds).
            if ((needed > narrower) & (needed <= width)).any():
                widths.append(width)
            narrower = width
    return widths


def export_all(
    model, spec: ModelSpec, folder, sample: np.ndarray, on_width: Callable[[int], None] | None = None
) -> list[int]:
    """`model.tflite` at maxlen and, for masked recurrent models, narrower exports for short texts.

    Returns the widths written; `on_width(width)` is called as each conversion starts, so a
    caller can show progress (each takes seconds). A narrow export is checked on the sample rows
    that fit it. n-gram models also get `GRAMS_FILE`, with the maxlen export's step.
    """
    from rnncli.batching import lengths_of, width_for
    from rnncli.inference import LITERT_FILE, narrow_file
    from rnncli.models.quantize import int8_name

    needed = np.array([width_for(n, spec.maxlen) for n in lengths_of(sample)])
    for stale in (GRAMS_FILE, int8_name(GRAMS_FILE)):
        # `predict` prefers a grams export: one left from an earlier export must not outlive
        # a new `model.tflite` (a run resumed after it was exported, say).
        (Path(folder) / stale).unlink(missing_ok=True)
    written = []
    for width in planned_widths(spec, sample):
        if on_width is not None:
            on_width(width)
        if width == spec.maxlen:
            export_litert(model, spec, Path(folder) / LITERT_FILE, sample)
            if spec.arch in NGRAM_ARCHS:
                export_grams(model, spec, Path(folder) / GRAMS_FILE, sample)
        else:
            fits = needed <= width
            export_litert(model, spec, Path(folder) / narrow_file(width), sample[fits], width)
        written.append(width)
    return written
