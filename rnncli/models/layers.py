"""Custom layers, registered so that `.keras` files round-trip with `safe_mode` on."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnncli")
class LuongAttention(keras.layers.Layer):
    """Luong ("general") attention over an RNN's sequence output, as the `attention` package does.

    With h_t the last state and h_s every state: score_s = h_t . (W h_s), a = softmax over time,
    context c = sum_s a_s h_s, output tanh(W_c [c; h_t]). The package (5.0.0) that the book uses
    does not track its weights under Keras 3, so the same arithmetic is written here with two
    plain weight matrices (d*d + 2d*units parameters, 20,480 for d = 64 and 128 units).

    Inputs must be pre-padded (Keras' default) so that the last step is a real token; padded
    steps are left out of the softmax when a mask is given.
    """

    def __init__(self, units: int = 128, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def build(self, input_shape) -> None:
        dim = int(input_shape[-1])
        self.score_kernel = self.add_weight(
            name="score_kernel", shape=(dim, dim), initializer="glorot_uniform"
        )
        self.output_kernel = self.add_weight(
            name="output_kernel", shape=(2 * dim, self.units), initializer="glorot_uniform"
        )

    def call(self, inputs, mask=None, return_attention_scores: bool = False):
        last = inputs[:, -1, :]
        projected = ops.matmul(inputs, self.score_kernel)
        # Batched dot products written as matmuls (not einsum) so that converters handle them.
        scores = ops.squeeze(ops.matmul(projected, ops.expand_dims(last, -1)), -1)
        if mask is not None:
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        context = ops.squeeze(ops.matmul(ops.expand_dims(weights, 1), inputs), 1)
        output = ops.tanh(ops.matmul(ops.concatenate([context, last], axis=-1), self.output_kernel))
        if return_attention_scores:
            return output, weights
        return output

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}
