"""Model architectures by name: a registry (no TensorFlow) and factories (Keras, imported lazily)."""

from rnncli.models.registry import ARCHITECTURES, ModelSpec, get_architecture

__all__ = ["ARCHITECTURES", "ModelSpec", "get_architecture"]
