"""Custom layers, registered so that `.keras` files round-trip with `safe_mode` on.

Keras comes from `rnncli.backend.keras()`, never from a plain `import keras`: importing this module
first must still set the TensorFlow backend and apply `RNNCLI_CPU_DEVICES` before TensorFlow
starts (a plain import would start it with whatever the environment says).
"""

from __future__ import annotations

from rnncli.backend import keras as _setup
from rnncli.models.ngram_ids import HASH_MODULUS

keras = _setup()
ops = keras.ops


class _AttentionBlock(keras.layers.Layer):
    """What both attention blocks share: units, the masked softmax and the weighted sum."""

    def __init__(self, units: int = 128, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    @staticmethod
    def _attend(scores, inputs, mask):
        """Softmax over time (masked steps get weight 0) and the weighted sum of `inputs`."""
        if mask is not None:
            # float16 (mixed precision on a GPU) ends at 65,504: -1e9 would become -inf.
            low = -6e4 if keras.backend.standardize_dtype(scores.dtype) == "float16" else -1e9
            scores = ops.where(mask, scores, ops.full_like(scores, low))
        weights = ops.softmax(scores, axis=-1)
        # Batched dot products written as matmuls (not einsum) so that converters handle them.
        context = ops.squeeze(ops.matmul(ops.expand_dims(weights, 1), inputs), 1)
        return weights, context

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="rnncli")
class LuongAttention(_AttentionBlock):
    """Luong ("general") attention over an RNN's sequence output, as the `attention` package does.

    With h_t the last state and h_s every state: score_s = h_t . (W h_s), a = softmax over time,
    context c = sum_s a_s h_s, output tanh(W_c [c; h_t]). The package (5.0.0) that the book uses
    does not track its weights under Keras 3, so the same arithmetic is written here with two
    plain weight matrices (d*d + 2d*units parameters, 20,480 for d = 64 and 128 units).

    Inputs must be pre-padded (Keras' default) so that the last step is a real token; padded
    steps are left out of the softmax when a mask is given.
    """

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
        scores = ops.squeeze(ops.matmul(projected, ops.expand_dims(last, -1)), -1)
        weights, context = self._attend(scores, inputs, mask)
        output = ops.tanh(ops.matmul(ops.concatenate([context, last], axis=-1), self.output_kernel))
        if return_attention_scores:
            return output, weights
        return output


@keras.saving.register_keras_serializable(package="rnncli")
class AttentionPooling(_AttentionBlock):
    """Additive attention with a learned query (Yang et al., 2016): a weighted sum of the states.

    score_s = v . tanh(W h_s + b), a = softmax over time, c = sum_s a_s h_s, output tanh(W_c c).
    Unlike `LuongAttention` there is no shortcut from the last state to the output, so whatever
    the classifier learns must pass through the weights: they end up on the steps that decide the
    label, which is what `--explain` shows. Keras' `AdditiveAttention` needs a query sequence and
    has no learned query vector, hence this layer.
    """

    def build(self, input_shape) -> None:
        dim = int(input_shape[-1])
        self.score_kernel = self.add_weight(
            name="score_kernel", shape=(dim, dim), initializer="glorot_uniform"
        )
        self.score_bias = self.add_weight(name="score_bias", shape=(dim,), initializer="zeros")
        self.query = self.add_weight(name="query", shape=(dim, 1), initializer="glorot_uniform")
        self.output_kernel = self.add_weight(
            name="output_kernel", shape=(dim, self.units), initializer="glorot_uniform"
        )

    def call(self, inputs, mask=None, return_attention_scores: bool = False):
        keys = ops.tanh(ops.matmul(inputs, self.score_kernel) + self.score_bias)
        scores = ops.squeeze(ops.matmul(keys, self.query), -1)
        weights, context = self._attend(scores, inputs, mask)
        output = ops.tanh(ops.matmul(context, self.output_kernel))
        if return_attention_scores:
            return output, weights
        return output


@keras.saving.register_keras_serializable(package="rnncli")
class MaskedMaxPooling1D(keras.layers.Layer):
    """Max-pooling of a valid `Conv1D`'s output that ignores windows lying wholly in padding.

    Takes `[conv_output, tokens]`. A convolution window counts when at least one token under it
    is real (id != 0), so even a two-word text keeps its windows; windows of padding only are
    zeroed (ReLU outputs are >= 0, so zero never wins a max over real windows), and a pooled
    step is masked when it covers no real window. Given at least `kernel_size - 1` pads before a
    text (or none to spare at `maxlen`) and widths congruent to `maxlen` modulo the pool size,
    the output no longer depends on how much padding precedes the text, so training on length
    buckets and predicting at `maxlen` agree. Keras' own pooling layers drop masks, hence this
    layer.
    """

    def __init__(self, pool_size: int = 4, kernel_size: int = 5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self.kernel_size = kernel_size

    def _window_valid(self, tokens):
        real = ops.cast(ops.not_equal(tokens, 0), "float32")[..., None]
        # 1 where any of the window's kernel_size tokens is real.
        return ops.max_pool(real, self.kernel_size, strides=1, padding="valid")

    def call(self, inputs):
        conv, tokens = inputs
        valid = ops.cast(self._window_valid(tokens), conv.dtype)
        return ops.max_pool(conv * valid, self.pool_size, strides=self.pool_size, padding="valid")

    def compute_mask(self, inputs, mask=None):
        _, tokens = inputs
        pooled = ops.max_pool(
            self._window_valid(tokens), self.pool_size, strides=self.pool_size, padding="valid"
        )
        return ops.greater(ops.squeeze(pooled, -1), 0.5)

    def compute_output_shape(self, input_shape):
        conv_shape = input_shape[0]
        steps = None if conv_shape[1] is None else conv_shape[1] // self.pool_size
        return (conv_shape[0], steps, conv_shape[2])

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "kernel_size": self.kernel_size}


class _StepShift(keras.layers.Layer):
    """Rotates each row's time steps by its own amount, read off its mask (see `RightPadded`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    @staticmethod
    def _steps(mask):
        """(position of each step, real steps per row (batch, 1), steps): shape-free ops only,
        so that the same code serves Keras' symbolic pass and LiteRT's free-width inputs."""
        flags = ops.cast(mask, "int32")
        positions = ops.cumsum(ops.ones_like(flags), axis=1) - 1
        return positions, ops.sum(flags, axis=1, keepdims=True), positions[:, -1:] + 1

    def _rotate(self, inputs, mask, shift_sign: int):
        """out[:, j] = inputs[:, (j + shift) mod steps], shift = sign * (steps - real steps)."""
        from rnncli.backend import tensorflow

        positions, real, steps = self._steps(mask)
        index = ops.mod(positions + shift_sign * (steps - real), steps)
        # One batched gather: `ops.take_along_axis` broadcasts the index to the full (batch, time,
        # features) shape first, and measured 5x slower forward and backward on IMDB's batches.
        return tensorflow().gather(inputs, index, batch_dims=1)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="rnncli")
class RightPadded(_StepShift):
    """Moves a pre-padded sequence's real steps to the front, so its mask is right-padded.

    rnncli pads before the text (Keras' default, and what the book's models and every saved run
    expect), but Keras runs a masked LSTM or GRU on the GPU's cuDNN kernel only when the mask is
    strictly right-padded: any other mask fails its `tf.Assert` on a GPU. Placed just before a
    recurrent layer, this turns `[0 0 a b c]` into `[a b c 0 0]` and the mask with it. A masked
    recurrent layer skips masked steps, so its final state, and the model's output, are the same
    on either side; `PrePadded` undoes the move for layers that read the whole sequence.
    Requires pre-padded masks (real steps last), which is what rnncli's encoders produce.
    """

    def call(self, inputs, mask=None):
        return inputs if mask is None else self._rotate(inputs, mask, 1)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        positions, real, _ = self._steps(mask)
        return ops.less(positions, real)


@keras.saving.register_keras_serializable(package="rnncli")
class PrePadded(_StepShift):
    """`RightPadded` undone: a right-padded sequence (a recurrent layer's `return_sequences`
    output) back to pre-padded order, so that attention's last step and `--explain`'s columns
    keep meaning what they meant."""

    def call(self, inputs, mask=None):
        return inputs if mask is None else self._rotate(inputs, mask, -1)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        positions, real, steps = self._steps(mask)
        return ops.greater_equal(positions, steps - real)


@keras.saving.register_keras_serializable(package="rnncli")
class HashedNGrams(keras.layers.Layer):
    """The word and hashed word-n-gram ids of each text: fastText's input.

    fastText's trick for word order in a bag-of-words model: each run of neighbouring words
    becomes one id, `num_words + hash mod buckets`, so the embedding learns vectors for bigrams
    (and trigrams) without an n-gram vocabulary. Each id is kept once per text (binary features,
    as in NBSVM), which measured better on IMDB than counting repeats. N-grams touching padding
    (id 0) become 0, so a masked pooling over the result ignores padding and the output does
    not depend on how much precedes a text. Computed in the model, not in preprocessing, so
    `predict`, the LiteRT export and occlusion all feed it plain word ids. Keras has no layer for
    this: `Hashing` works on strings and single values, not on runs of neighbouring ids.
    """

    def __init__(self, num_words: int, buckets: int, order: int = 3, distinct: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_words = num_words
        self.buckets = buckets
        self.order = order
        self.distinct = distinct

    def call(self, ids):
        ids = ops.cast(ids, "int64")
        parts = [ids]
        if self.buckets:
            first, second = ids[:, :-1], ids[:, 1:]
            real = ops.logical_and(ops.greater(first, 0), ops.greater(second, 0))
            pair = self.num_words + ops.mod(first * self.num_words + second, self.buckets)
            parts.append(ops.where(real, pair, ops.zeros_like(pair)))
            if self.order >= 3:
                third = ids[:, 2:]
                real3 = ops.logical_and(real[:, :-1], ops.greater(third, 0))
                mixed = (first[:, :-1] * 1_000_003 + second[:, :-1] * 7_919 + third) * 31 + 17
                triple = self.num_words + ops.mod(mixed, self.buckets)
                parts.append(ops.where(real3, triple, ops.zeros_like(triple)))
                parts.extend(self._longer(ids, mixed, real3))
        grams = ops.concatenate(parts, axis=1)
        if not self.distinct:
            return ops.cast(grams, "int32")
        grams = ops.sort(grams, axis=1)
        repeat = ops.concatenate(
            [ops.zeros_like(grams[:, :1], dtype="bool"), ops.equal(grams[:, 1:], grams[:, :-1])], axis=1
        )
        return ops.cast(ops.where(repeat, ops.zeros_like(grams), grams), "int32")

    def _longer(self, ids, mixed, real):
        """Runs of 4 and 5 neighbouring ids (`order` 4 or 5; character n-grams want them).

        Each hash extends the previous one by the next id, kept below 2**31 at every step so
        that int64 never overflows; 2 and 3 keep their own formulas, so runs made with them
        read the same ids as before.
        """
        parts = []
        running = ops.mod(mixed, HASH_MODULUS)
        for n in range(4, self.order + 1):
            following = ids[:, n - 1 :]
            running = ops.mod(running[:, :-1] * 1_000_003 + following + n, HASH_MODULUS)
            real = ops.logical_and(real[:, :-1], ops.greater(following, 0))
            gram = self.num_words + ops.mod(running, self.buckets)
            parts.append(ops.where(real, gram, ops.zeros_like(gram)))
        return parts

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        if steps is not None and self.buckets:
            # The ids, then one id per run of 2 (3, 4, 5) neighbouring ids.
            steps = sum(max(steps - n, 0) for n in range(self.order))
        return (input_shape[0], steps)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_words": self.num_words,
            "buckets": self.buckets,
            "order": self.order,
            "distinct": self.distinct,
        }


@keras.saving.register_keras_serializable(package="rnncli")
class SqrtNPooling(keras.layers.Layer):
    """Sum of the unmasked vectors divided by the square root of their count.

    Between a sum (long texts dominate) and a mean (each feature's pull shrinks as 1/n): the
    scaling of an L2-normalised binary bag of words, which is what TF-IDF + logistic regression
    feed their linear model. TensorFlow's `embedding_lookup_sparse` has this "sqrtn" combiner,
    but Keras' pooling layers offer only the mean and the max.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        # No `[..., :1]` or `[..., None]` slices: LiteRT cannot convert them once the width is free.
        ones = ops.ones_like(ops.sum(inputs, axis=-1, keepdims=True))
        weights = ones if mask is None else ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        total = ops.sum(inputs * weights, axis=1)
        count = ops.sum(weights, axis=1)
        return total / ops.sqrt(ops.maximum(count, 1.0))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="rnncli")
class SumOverTime(keras.layers.Layer):
    """The sum over time steps: NBSVM's score is a sum over n-grams, and Keras' global pooling
    layers offer only the mean (which would scale with the padding) and the max."""

    def call(self, inputs):
        return ops.sum(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
