"""Export a trained model to LiteRT, so that `predict` answers without importing TensorFlow.

The converter cannot lower Keras 3's recurrent `while` loops (tensor-list ops), so the model is
rebuilt with its recurrent layers unrolled over a fixed `maxlen` and given the trained weights;
the arithmetic is the same, step by step. The export is checked against Keras on real rows and
kept only if every output agrees within `TOLERANCE`.
"""

from __future__ import annotations

import numpy as np

from rnncli.atomic import atomic_write_bytes
from rnncli.backend import keras, stdout_and_stderr_silenced, tensorflow
from rnncli.errors import RnncliError
from rnncli.models.registry import ModelSpec

TOLERANCE = 1e-4
_RECURRENT = ("LSTM", "GRU", "SimpleRNN")


def unrolled_copy(model, spec: ModelSpec):
    """The same model with fixed-length input and unrolled recurrent layers, same weights."""
    config = model.get_config()
    for layer in config["layers"]:
        inner = layer["config"]
        if layer["class_name"] == "InputLayer":
            inner["batch_shape"] = [None, spec.maxlen]
        if layer["class_name"] in _RECURRENT:
            inner["unroll"] = True
        if layer["class_name"] == "Bidirectional":
            for key in ("layer", "backward_layer"):
                if key in inner:
                    inner[key]["config"]["unroll"] = True
    copy = keras().Model.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def convert(model, spec: ModelSpec) -> bytes:
    tf = tensorflow()
    # The converter saves a temporary SavedModel and prints its signature to stdout.
    with stdout_and_stderr_silenced():
        converter = tf.lite.TFLiteConverter.from_keras_model(unrolled_copy(model, spec))
        return converter.convert()


def export_litert(model, spec: ModelSpec, path, sample: np.ndarray) -> float:
    """Write `path` if the LiteRT model matches Keras on `sample`; return the largest difference."""
    from rnncli.inference import LiteRTModel

    payload = convert(model, spec)
    expected = np.asarray(model.predict_on_batch(sample), dtype=np.float64)
    got = LiteRTModel.from_bytes(payload).predict(sample)
    difference = float(np.max(np.abs(got - expected))) if len(sample) else 0.0
    if not difference <= TOLERANCE:
        raise RnncliError(f"LiteRT export differs from Keras by {difference:.2e}; kept Keras only")
    atomic_write_bytes(path, payload)
    return difference
