"""Running a saved model: LiteRT when the run has an export, Keras otherwise.

The LiteRT path imports neither TensorFlow nor Keras, so a cold `rnncli predict` answers in a
fraction of a second instead of paying TensorFlow's multi-second import.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rnncli.errors import RunError
from rnncli.models.registry import ModelSpec

LITERT_FILE = "model.tflite"


def litert_available() -> bool:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class LiteRTModel:
    """A LiteRT interpreter fed whole batches (its input is resized to each batch)."""

    def __init__(self, interpreter) -> None:
        self.interpreter = interpreter
        self.input = interpreter.get_input_details()[0]
        self.output = interpreter.get_output_details()[0]
        self.batch = None

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
    def load(cls, path: Path, spec: ModelSpec) -> LiteRTModel:
        try:
            model = cls.from_bytes(Path(path).read_bytes())
        except (OSError, ValueError, RuntimeError) as exc:
            raise RunError(f"cannot load {path}: {exc}", "delete it to fall back to model.keras") from exc
        width = int(model.input["shape"][-1])
        outputs = int(model.output["shape"][-1])
        expected = 1 if spec.num_classes == 2 else spec.num_classes
        if width != spec.maxlen or outputs != expected:
            raise RunError(
                f"{path}: takes {width} tokens and gives {outputs} outputs, but the config says "
                f"maxlen {spec.maxlen} and {spec.num_classes} classes"
            )
        return model

    def predict(self, ids: np.ndarray) -> np.ndarray:
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        if self.batch != len(ids):
            self.interpreter.resize_tensor_input(self.input["index"], ids.shape)
            self.interpreter.allocate_tensors()
            self.batch = len(ids)
        self.interpreter.set_tensor(self.input["index"], ids)
        self.interpreter.invoke()
        return np.asarray(self.interpreter.get_tensor(self.output["index"]), dtype=np.float64)


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
        return LiteRTModel.load(exported, spec)
    return KerasModel(Path(run_dir) / model_file, spec)
