"""The tokenizers compared on NSMC: the same LSTM on each, with coverage and tokenizing speed.

    python benchmarks/tokenizers.py                 # 30,000 training / 10,000 test reviews
    python benchmarks/tokenizers.py --train 150000 --test 50000

The first `--train` reviews of ratings_train.txt (the last 10% of them for validation and early
stopping) and the first `--test` of ratings_test.txt. Each tokenizer is learned from the training
reviews only; the vocabulary is their 20,000 most frequent tokens; coverage is the share of the
test reviews' tokens that the vocabulary holds. The model is rnncli's `lstm` (64-wide embedding,
64 units, masked), batches of 64, at most 4 epochs with patience 1, seed 1.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

import numpy as np

MAXLEN = {"words": 40, "chars": 120, "subword": 60, "morphemes": 60}


def read(path: str, count: int) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    with open(path, encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            _, text, label = line.rstrip("\n").split("\t")
            texts.append(text)
            labels.append(int(label))
            if len(texts) >= count:
                break
    return texts, np.array(labels, dtype="float32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=30000)
    parser.add_argument("--test", type=int, default=10000)
    parser.add_argument("--tokenizers", nargs="+", default=list(MAXLEN))
    args = parser.parse_args()
    from rnncli import tokenizers
    from rnncli.backend import keras
    from rnncli.models import factories
    from rnncli.models.registry import ModelSpec
    from rnncli.text import Vocabulary, pad

    folder = os.path.join(os.environ.get("RNNCLI_DATA", "."), "nsmc")
    train, y_train = read(os.path.join(folder, "ratings_train.txt"), args.train)
    test, y_test = read(os.path.join(folder, "ratings_test.txt"), args.test)
    held = len(train) * 9 // 10
    for name in args.tokenizers:
        tokenizer = tokenizers.make(name)
        started = time.perf_counter()
        if tokenizer.trained:
            tokenizer.train(dict(Counter(word for text in train for word in tokenizer.words(text))))
        train_tokens = [tokenizer.tokens(text) for text in train]
        test_tokens = [tokenizer.tokens(text) for text in test]
        seconds = time.perf_counter() - started
        index = Vocabulary.build(train_tokens).truncated(20000).index()
        coverage = np.mean([token in index for tokens in test_tokens for token in tokens])

        def encode(token_lists, maxlen=MAXLEN[name], index=index):
            return pad([[1] + [index.get(t, 2) for t in tokens] for tokens in token_lists], maxlen)

        x_train, x_test = encode(train_tokens), encode(test_tokens)
        keras().utils.set_random_seed(1)
        model = factories.build(ModelSpec("lstm", 20000, MAXLEN[name], 2, 64, 64, 0.0, mask=True))
        stop = keras().callbacks.EarlyStopping(patience=1, restore_best_weights=True)
        fit_started = time.perf_counter()
        model.fit(
            x_train[:held], y_train[:held], batch_size=64, epochs=4, verbose=0,
            validation_data=(x_train[held:], y_train[held:]), callbacks=[stop],
        )  # fmt: skip
        accuracy = model.evaluate(x_test, y_test, verbose=0, batch_size=1024)[1]
        print(
            f"{name}: test accuracy {accuracy:.4f}, coverage {coverage:.4f}, "
            f"tokenizing {len(train) + len(test):,} reviews {seconds:.1f} s, "
            f"training {time.perf_counter() - fit_started:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
