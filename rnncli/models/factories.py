"""Keras models built from a `ModelSpec`; the output head follows the number of classes."""

from __future__ import annotations

from collections.abc import Callable

from rnncli.backend import keras
from rnncli.models.registry import NGRAM_ARCHS, ModelSpec

CNN_FILTERS = 64
CNN_KERNEL = 5
CNN_POOL = 4
ATTENTION_UNITS = 128


def _head(x, num_classes: int):
    k = keras()
    layers = k.layers
    # Under mixed precision the probabilities are still float32: 16-bit sigmoids and softmaxes
    # round confident outputs to exactly 0 or 1, and the loss of those is not finite.
    output_dtype = None if k.config.dtype_policy().compute_dtype == "float32" else "float32"
    if num_classes == 2:
        # Dense then a separate sigmoid, as the book writes it (same parameters either way).
        dense = layers.Dense(1, name="dense")(x)
        return layers.Activation("sigmoid", name="sigmoid", dtype=output_dtype)(dense)
    return layers.Dense(num_classes, activation="softmax", name="dense", dtype=output_dtype)(x)


def _recurrent(spec: ModelSpec, layer, x):
    """`layer(x)`, its mask right-padded when masked (cuDNN's condition; `RightPadded`)."""
    if not spec.mask:
        return layer(x)
    from rnncli.models.layers import PrePadded, RightPadded

    x = layer(RightPadded(name="right_padded")(x))
    # A whole sequence goes back to pre-padded order for the layers after it.
    return PrePadded(name="pre_padded")(x) if getattr(layer, "return_sequences", False) else x


def _lstm(spec: ModelSpec, x):
    layers = keras().layers
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="dropout")(x)
    return _recurrent(spec, layers.LSTM(spec.units, activation="tanh", name="lstm"), x)


def _gru(spec: ModelSpec, x):
    layers = keras().layers
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="dropout")(x)
    return _recurrent(spec, layers.GRU(spec.units, name="gru"), x)


def _bilstm(spec: ModelSpec, x):
    layers = keras().layers
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="dropout")(x)
    return _recurrent(spec, layers.Bidirectional(layers.LSTM(spec.units), name="bilstm"), x)


def _cnn_lstm(spec: ModelSpec, x, tokens):
    layers = keras().layers
    x = layers.Dropout(spec.dropout, name="dropout")(x)
    x = layers.Conv1D(CNN_FILTERS, CNN_KERNEL, padding="valid", activation="relu", strides=1, name="conv1d")(
        x
    )
    if spec.mask:
        from rnncli.models.layers import MaskedMaxPooling1D

        x = MaskedMaxPooling1D(CNN_POOL, CNN_KERNEL, name="max_pooling1d")([x, tokens])
    else:
        x = layers.MaxPooling1D(pool_size=CNN_POOL, name="max_pooling1d")(x)
    return _recurrent(spec, layers.LSTM(spec.units, name="lstm"), x)


def _attention(spec: ModelSpec, x):
    from rnncli.models.layers import AttentionPooling, LuongAttention

    layers = keras().layers
    x = layers.Dropout(spec.dropout, name="dropout")(x)
    x = _recurrent(spec, layers.LSTM(spec.units, return_sequences=True, name="lstm"), x)
    block = AttentionPooling if spec.attention == "pool" else LuongAttention
    x = block(ATTENTION_UNITS, name="attention")(x)
    return layers.Dropout(spec.dropout, name="dropout_1")(x)


#: Bodies over the embedded sequence; cnn-lstm's also takes the token ids (`build`).
_BODIES: dict[str, Callable] = {
    "lstm": _lstm,
    "attention": _attention,
    "gru": _gru,
    "bilstm": _bilstm,
}


def _fasttext(spec: ModelSpec, inputs):
    """fastText's classifier: pooled embeddings of the words and hashed n-grams, then the head.

    No recurrence, so an epoch takes a minute on IMDB; pooling over the real ids only (the
    embedding masks padding) keeps it independent of padding, like the masked recurrent models.
    """
    from rnncli.models.layers import HashedNGrams, SqrtNPooling
    from rnncli.models.ngram_ids import keeps_distinct

    layers = keras().layers
    sqrtn = spec.pooling == "sqrtn"
    distinct = keeps_distinct(spec)
    ids = HashedNGrams(spec.num_words, spec.buckets, spec.ngrams, distinct=distinct, name="ngrams")(inputs)
    x = layers.Embedding(spec.embedding_rows, spec.embedding_dim, mask_zero=True, name="embedding")(ids)
    x = SqrtNPooling(name="pooling")(x) if sqrtn else layers.GlobalAveragePooling1D(name="pooling")(x)
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="dropout")(x)
    return x


def _nbsvm(spec: ModelSpec, inputs):
    """NBSVM as a network: the sum over a text's distinct n-grams of ratio x weight, per class.

    The ratios are an embedding that training never updates: `fit_to_data` counts them on the
    training split before the first epoch. Padding has ratio 0, so the sum ignores it.
    """
    from rnncli.models.layers import HashedNGrams, SumOverTime
    from rnncli.models.ngram_ids import keeps_distinct

    layers = keras().layers
    columns = 1 if spec.num_classes == 2 else spec.num_classes
    distinct = keeps_distinct(spec)
    ids = HashedNGrams(spec.num_words, spec.buckets, spec.ngrams, distinct=distinct, name="ngrams")(inputs)
    ratios = layers.Embedding(
        spec.embedding_rows, columns, embeddings_initializer="zeros", trainable=False, name="nb_ratios"
    )(ids)
    weights = layers.Embedding(
        spec.embedding_rows, columns, embeddings_initializer="zeros", name="embedding"
    )(ids)
    x = layers.Multiply(name="weighted")([ratios, weights])
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="dropout")(x)
    return SumOverTime(name="scores")(x)


_NGRAM_BODIES: dict[str, Callable] = {"fasttext": _fasttext, "nbsvm": _nbsvm}


def fit_to_data(model, spec: ModelSpec, x, y) -> None:
    """Set what an architecture derives from the training split before training (NBSVM's ratios)."""
    if spec.arch == "nbsvm":
        from rnncli.models.naive_bayes import fit_ratios

        fit_ratios(model, x, y, spec.num_classes)


def build(spec: ModelSpec, compile: bool = True, policy: str = "float32"):
    """A fresh model for `spec`; inputs are (batch, time) id arrays of any length.

    `policy` is the Keras dtype policy its layers compute in (`rnncli.models.precision`).
    """
    from rnncli.models.precision import dtype_policy

    with dtype_policy(policy):
        return _build(spec, compile)


def _build(spec: ModelSpec, compile: bool):
    k = keras()
    inputs = k.Input(shape=(None,), dtype="int32", name="tokens")
    if spec.arch in _NGRAM_BODIES:
        body = _NGRAM_BODIES[spec.arch](spec, inputs)
        model = k.Model(inputs, _head(body, spec.num_classes), name=spec.arch)
        if compile:
            compile_model(model, spec)
        return model
    # cnn-lstm masks through its pooling layer instead: Conv1D does not carry masks.
    mask_zero = spec.mask and spec.arch != "cnn-lstm"
    x = k.layers.Embedding(spec.num_words, spec.embedding_dim, mask_zero=mask_zero, name="embedding")(inputs)
    # cnn-lstm's pooling reads the ids themselves to tell padding from text.
    body = _cnn_lstm(spec, x, inputs) if spec.arch == "cnn-lstm" else _BODIES[spec.arch](spec, x)
    model = k.Model(inputs, _head(body, spec.num_classes), name=spec.arch)
    if compile:
        compile_model(model, spec)
    return model


def compile_model(model, spec: ModelSpec) -> None:
    k = keras()
    binary = spec.num_classes == 2
    if spec.optimizer == "lazy-adam":
        from rnncli.models.optimizers import LazyAdam

        # Only the n-gram models use it, and their row 0 is padding (see `skip_padding`).
        optimizer = LazyAdam(learning_rate=spec.learning_rate, skip_padding=spec.arch in NGRAM_ARCHS)
    else:
        optimizer = k.optimizers.Adam(learning_rate=spec.learning_rate)
    model.compile(
        optimizer=optimizer,
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
