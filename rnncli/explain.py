"""Use case: which words made the model decide as it did.

Attention runs answer with the model's own attention weights over time steps; every other
architecture with occlusion: how much the predicted class's probability drops when one word is
replaced by the out-of-vocabulary mark, all words at once in one batched forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rnncli.errors import InputError
from rnncli.longlines import LINE_BYTES, LongLine
from rnncli.predict import Prediction, Predictor
from rnncli.text import OOV, pad


@dataclass(frozen=True)
class WordWeight:
    word: str  # as written in the input
    start: int
    end: int
    weight: float
    seen: bool  # False when the word was cut off by maxlen


@dataclass(frozen=True)
class Explanation:
    prediction: Prediction
    method: str  # "attention" or "occlusion"
    words: list[WordWeight]

    def top(self, count: int = 5) -> list[WordWeight]:
        """The `count` words that weighed most, by magnitude, each distinct word once.

        By magnitude because occlusion weights are signed: a word whose removal raises the
        label's probability (negative weight) argued against it, and that mattered as much as a
        word that argued for it; the sign is kept so the reader can tell which. Repeats of a word
        (the same token, whatever its case) are merged into one entry whose weight is their sum:
        its whole share of the attention, or the sum of the drops of removing each occurrence in
        turn; the entry keeps the first occurrence's spelling and position. Words cut off by
        maxlen and words of weight 0 (occlusion of a word the model does not know) are left out.
        Ties keep the order of first appearance.
        """
        merged: dict[str, WordWeight] = {}
        for word in self.words:
            if not word.seen:
                continue
            key = word.word.lower()
            first = merged.get(key)
            merged[key] = word if first is None else replace(first, weight=first.weight + word.weight)
        ranked = sorted((w for w in merged.values() if w.weight != 0.0), key=lambda w: -abs(w.weight))
        return ranked[:count]

    def pairs(self) -> list[list]:
        return [[w.word, w.weight] for w in self.words]


def _positions(token_count: int, maxlen: int) -> np.ndarray:
    """Column of each token in the pre-padded, pre-truncated row [0.., START, tokens]; -1 if cut."""
    # The encoded sequence is START plus the tokens; pre-truncation keeps its last maxlen ids.
    length = token_count + 1
    offset = maxlen - length  # column of START (negative when truncated)
    columns = np.arange(token_count) + offset + 1
    return np.where(columns >= 0, columns, -1)


def attention_weights(predictor: Predictor, ids: np.ndarray) -> np.ndarray:
    """The attention layer's weights over time steps for padded rows, shape (rows, maxlen)."""
    from rnncli.backend import keras

    model = predictor.keras_model
    # In runs with right-padded masks, `pre_padded` puts the LSTM's states back in input order.
    names = {layer.name for layer in model.layers}
    states_layer = model.get_layer("pre_padded" if "pre_padded" in names else "lstm")
    states = keras().Model(model.inputs[0], states_layer.output)(ids, training=False)
    # A masked model's softmax leaves padding out; the mask does not follow `states` out of the
    # sub-model, so it is given again.
    mask = np.not_equal(ids, 0) if predictor.spec.mask else None
    _, weights = model.get_layer("attention")(states, mask=mask, return_attention_scores=True)
    return np.asarray(weights, dtype=np.float64)


def explain(predictor: Predictor, text: str) -> Explanation:
    if isinstance(text, LongLine):
        # Only its first characters and last tokens were kept: there is no text to shade.
        raise InputError(
            f"cannot explain a line over {LINE_BYTES // 1024 // 1024} MiB",
            "split it, or predict without --explain",
        )
    spans = predictor.tokenizer.spans(text)
    encoded = predictor.encoder.encode_tokens([token for _, _, token in spans])
    row = pad([encoded], predictor.spec.maxlen)
    columns = _positions(len(spans), predictor.spec.maxlen)
    prediction = predictor.predict([text])[0]
    if predictor.spec.arch == "attention":
        method = "attention"
        over_time = attention_weights(predictor, row)[0]
        raw = np.array([over_time[c] if c >= 0 else 0.0 for c in columns])
        total = raw.sum()
        weights = raw / total if total > 0 else raw
    else:
        method = "occlusion"
        target = predictor.label_names.index(prediction.label)
        visible = [c for c in columns if c >= 0]
        batch = np.repeat(row, len(visible) + 1, axis=0)
        for i, column in enumerate(visible, start=1):
            batch[i, column] = OOV
        probabilities = predictor.probabilities_of(batch)[:, target]
        drops = iter(probabilities[0] - probabilities[1:])
        weights = np.array([float(next(drops)) if c >= 0 else 0.0 for c in columns])
    # Tokens a tokenizer adds between words (`chars`) weigh in the model but are no word to show.
    words = [
        WordWeight(text[start:end], start, end, float(weight), bool(column >= 0))
        for (start, end, _), weight, column in zip(spans, weights, columns)
        if end > start
    ]
    return Explanation(prediction, method, words)
