"""A SavedModel that takes raw strings: rnncli's preprocessing written as TensorFlow ops.

TensorFlow Serving, `tf.saved_model.load` or any other host of SavedModels can then serve a run
with no rnncli installed. The graph repeats, op by op, what `rnncli.text` and
`rnncli.tokenizers` do in Python:

- markup `<...>` (up to `MARKUP_MAX` characters) becomes a space; the text is lower-cased;
- words are runs of letters and digits of any script (`\\pL`, `\\pN`: Python's `[^\\W_]`), joined by
  an apostrophe only between two of them (RE2 has no look-around, so those apostrophes are
  marked, the rest of the text is blanked, and the marks turned back);
- `words`: the words; `chars`: their characters, with `WORD_MARK` between words;
- ids as `keras.datasets` numbers them (a word of rank r is r + 3, unknown 2, start 1), the last
  `maxlen` kept, padded in front (`keras.utils.pad_sequences`' defaults).

What the graph cannot do as rnncli does: Unicode NFC (TensorFlow has no normaliser without
tensorflow-text), so a `chars` run reads decomposed Hangul (NFD) differently (measured by
tests/test_savedmodel.py); and the learned tokenizers (`subword`, `morphemes`, `chars+subword`)
need SentencePiece or Kiwi in the graph, so those runs are refused with the reason.
"""

from __future__ import annotations

from pathlib import Path

from rnncli.backend import keras, tensorflow
from rnncli.errors import UsageError
from rnncli.text import INDEX_FROM, MARKUP_MAX, OOV, START
from rnncli.tokenizers import CHARS, WORD_MARK, WORDS

#: The tokenizers the graph reproduces.
IN_GRAPH = (WORDS, CHARS)
_WORD_CHAR = r"[\pL\pN]"
#: Stands for an apostrophe between two word characters while the rest is blanked.
_JOIN = "\x01"


def check_tokenizer(name: str) -> None:
    if name not in IN_GRAPH:
        raise UsageError(
            f"a SavedModel can hold the words and chars tokenizers, not {name!r} "
            "(it would need SentencePiece or Kiwi inside the TensorFlow graph)",
            "export --format tflite or keras, which come with the run's tokenizer files",
        )


def words_of(texts):
    """Ragged (batch, words) of lower-cased words, as `rnncli.text.tokenize` finds them."""
    tf = tensorflow()
    text = tf.strings.regex_replace(texts, f"<[^<>]{{0,{MARKUP_MAX}}}>", " ")
    text = tf.strings.lower(text, encoding="utf-8")
    joined = f"({_WORD_CHAR})'({_WORD_CHAR})"
    # Two passes: a match takes the characters on both sides, so "a'b'c" needs a second one.
    for _ in range(2):
        text = tf.strings.regex_replace(text, joined, f"\\1{_JOIN}\\2")
    text = tf.strings.regex_replace(text, f"[^\\pL\\pN{_JOIN}]+", " ")
    text = tf.strings.regex_replace(text, _JOIN, "'")
    return tf.strings.split(tf.strings.strip(text))


def tokens_of(texts, tokenizer: str):
    """Ragged (batch, tokens) for `tokenizer` (`words` or `chars`)."""
    tf = tensorflow()
    words = words_of(texts)
    if tokenizer == WORDS:
        return words
    marked = tf.strings.unicode_split(tf.strings.join([WORD_MARK, words.flat_values]), "UTF-8")
    chars = tf.RaggedTensor.from_row_splits(marked, words.row_splits).merge_dims(1, 2)
    return chars[:, 1:]  # no mark before the first word


def padded_ids(tokens, lookup, maxlen: int):
    """(batch, maxlen) int32 ids from ragged tokens: start mark, last `maxlen` kept, pre-padded."""
    tf = tensorflow()
    found = tf.cast(lookup(tokens), tf.int32)
    ids = tf.where(found == 0, tf.constant(OOV, tf.int32), found + INDEX_FROM)
    starts = tf.fill([ids.nrows(), 1], tf.constant(START, tf.int32))
    ids = tf.concat([tf.RaggedTensor.from_tensor(starts), ids], axis=1)
    lengths = tf.minimum(tf.cast(ids.row_lengths(), tf.int32), maxlen)
    ends = tf.cast(ids.row_limits(), tf.int32)
    # Position j of a row holds id number (end - maxlen + j) of the flat values, where valid.
    columns = tf.range(maxlen, dtype=tf.int32)[None, :]
    source = ends[:, None] - maxlen + columns
    valid = columns >= (maxlen - lengths)[:, None]
    values = tf.gather(ids.flat_values, tf.where(valid, source, tf.zeros_like(source)))
    return tf.where(valid, values, tf.zeros_like(values))


def export(
    model, words: tuple[str, ...], tokenizer: str, maxlen: int, label_names: list[str], path: Path
) -> None:
    """Write the SavedModel: signature `serving_default(texts)` -> probabilities, label, label_names."""
    tf = tensorflow()
    k = keras()
    check_tokenizer(tokenizer)
    lookup = k.layers.StringLookup(
        vocabulary=list(words), num_oov_indices=1, mask_token=None, name="vocabulary"
    )
    lookup.build(None)  # ExportArchive tracks built layers only
    names = tf.constant(label_names)

    def serve(texts):
        ids = padded_ids(tokens_of(texts, tokenizer), lookup, maxlen)
        out = tf.cast(model(ids, training=False), tf.float32)
        probabilities = tf.concat([1.0 - out, out], axis=1) if len(label_names) == 2 else out
        batch = tf.shape(probabilities)[0]
        return {
            "probabilities": probabilities,
            "label": tf.gather(names, tf.argmax(probabilities, axis=1)),
            "label_names": tf.tile(names[None, :], [batch, 1]),
        }

    archive = k.export.ExportArchive()
    archive.track(model)
    archive.track(lookup)
    archive.add_endpoint("serving_default", serve, input_signature=[tf.TensorSpec([None], tf.string)])
    archive.write_out(str(path), verbose=False)
