"""Adam that updates only the embedding rows a batch touched: what makes n-gram models fast.

A bag-of-n-grams model looks up a few hundred of its hundreds of thousands to millions of
embedding rows per batch, and Keras hands their gradient over as `tf.IndexedSlices`. Keras 3's
Adam turns that into a dense update of the whole table and both its moment tables on every step
(measured: 80 ms a step for a 200,000 x 64 table at batch 32, against 12 ms here; Keras'
own sparse-aware test lists Adam among the optimizers without sparse updates). Keras has no
"lazy" Adam (TensorFlow Addons had one; it is retired), so this subclass writes that one case:
for sliced gradients it reads, updates and writes back only the touched rows of the weights
and the two moments; dense gradients take Adam's own path. Rows not in a batch keep their
moments instead of decaying them, which is the known difference from dense Adam; it is
measured, not assumed, in docs/results.md.
"""

from __future__ import annotations

from rnncli.backend import keras, tensorflow

_k = keras()


@_k.saving.register_keras_serializable(package="rnncli")
class LazyAdam(_k.optimizers.Adam):
    """Adam with row-sparse updates for `tf.IndexedSlices` gradients (embedding tables).

    `skip_padding`: leave row 0 out of every sparse update. For the n-gram models that is exact,
    not an approximation: row 0 is padding (and every repeated or padding-touching n-gram), which
    fasttext masks and NBSVM weighs by a ratio of 0, so its gradient is exactly 0, its moments stay
    0 and its Adam step is 0 (`tests/test_optimizers.py` checks the weights agree bit for bit).
    About half of a batch's n-gram ids are 0, so leaving them out halves the `unique` below.
    """

    def __init__(self, *args, skip_padding: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skip_padding = skip_padding

    def get_config(self) -> dict:
        return {**super().get_config(), "skip_padding": self.skip_padding}

    def update_step(self, gradient, variable, learning_rate):
        tf = tensorflow()
        if not isinstance(gradient, tf.IndexedSlices) or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        indices, values = gradient.indices, gradient.values
        if self.skip_padding:
            real = tf.not_equal(indices, 0)
            indices, values = tf.boolean_mask(indices, real), tf.boolean_mask(values, real)
        dtype = variable.dtype
        lr = tf.cast(learning_rate, dtype)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        alpha = lr * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        # Rows repeated within a batch are summed first, as the dense update would sum them.
        rows, positions = tf.unique(indices)
        grad = tf.math.unsorted_segment_sum(tf.cast(values, dtype), positions, tf.shape(rows)[0])
        m_rows = tf.gather(m.value, rows) * beta_1 + grad * (1 - beta_1)
        v_rows = tf.gather(v.value, rows) * beta_2 + tf.square(grad) * (1 - beta_2)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        step_rows = alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon)
        # The rows are distinct, so writing `w - step` equals subtracting `step`; TensorFlow's
        # scatter-subtract measured 3-6 ms a step on a 10-million-row table, this 1 ms.
        table = variable.value if isinstance(variable, _k.Variable) else variable  # as Keras' assign
        self.assign(variable, tf.IndexedSlices(tf.gather(table, rows) - step_rows, rows))
