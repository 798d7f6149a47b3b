"""Use case: describe a model's layers and parameters without loading data or training."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rnncli.models.registry import ModelSpec


@dataclass(frozen=True)
class LayerRow:
    name: str
    type: str
    output_shape: str
    params: int


@dataclass(frozen=True)
class ModelSummary:
    arch: str
    layers: list[LayerRow]
    total_params: int
    trainable_params: int
    non_trainable_params: int

    def to_dict(self) -> dict:
        return asdict(self)


def summarize_model(model, arch: str) -> ModelSummary:
    rows = []
    for layer in model.layers:
        if layer.__class__.__name__ == "InputLayer":
            continue
        shape = tuple(layer.output.shape)
        rows.append(LayerRow(layer.name, layer.__class__.__name__, str(shape), int(layer.count_params())))
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    total = int(model.count_params())
    return ModelSummary(arch, rows, total, trainable, total - trainable)


def summarize(spec: ModelSpec) -> ModelSummary:
    from rnncli.models import factories

    return summarize_model(factories.build(spec, compile=False), spec.arch)
