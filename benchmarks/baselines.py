"""Non-recurrent baselines on rnncli's own splits: TF-IDF + logistic regression.

    pip install scikit-learn        # not a dependency of rnncli; only this script needs it
    python benchmarks/baselines.py imdb
    python benchmarks/baselines.py reuters
    python benchmarks/baselines.py nsmc            # character 1-3-grams within words, as for Korean

Same corpora, same train/test splits and the same tokenizer as `rnncli train`, so the figures sit
beside docs/results.md's rows on equal terms. The regularisation strength C is chosen on a
validation split held out from the training split (never the test set), then the model is refit
on the whole training split and tested once. The fastText-style baseline is rnncli's own
`fasttext` architecture: `rnncli train DATASET --arch fasttext`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time

import numpy as np


def raw_corpus(name: str):
    from rnncli.data import builtin, fetch

    dataset = builtin.get(name)
    if name == "nsmc":
        from rnncli.data import nsmc

        folder = fetch.locate_together(nsmc.FILES, dataset.folder, None)
        if folder is None:
            raise SystemExit("ratings_train.txt and ratings_test.txt not found: set RNNCLI_DATA")
        return nsmc.load(folder, None)
    source = fetch.locate(dataset.filename, dataset.folder, None)
    if source is None:
        raise SystemExit(f"{dataset.filename} not found: set RNNCLI_DATA or run `rnncli train {name}` once")
    return importlib.import_module(f"rnncli.data.{dataset.parser}").load(source, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=["imdb", "reuters", "nsmc"])
    parser.add_argument("--c", default="4,16,64", help="candidate C values, chosen on validation")
    parser.add_argument("--val", type=float, default=0.2, help="validation share of the training split")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise SystemExit("this baseline needs scikit-learn: pip install scikit-learn") from None

    from rnncli.data.corpus import stratified_split
    from rnncli.text import tokenize

    started = time.perf_counter()
    corpus = raw_corpus(args.dataset)
    train_texts, test_texts = corpus.train_texts, corpus.test_texts
    y_train, y_test = np.asarray(corpus.train_labels), np.asarray(corpus.test_labels)

    def vectorizer():
        if args.dataset == "nsmc":
            # Korean words carry particles and endings: character n-grams inside words.
            return TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
        return TfidfVectorizer(
            tokenizer=tokenize, lowercase=False, token_pattern=None, ngram_range=(1, 2),
            min_df=2, sublinear_tf=True,
        )  # fmt: skip

    def fit(texts, labels, c):
        vec = vectorizer()
        x = vec.fit_transform(texts)
        model = LogisticRegression(C=c, max_iter=2000).fit(x, labels)
        return vec, model

    keep, held = stratified_split(y_train, args.val, args.seed)
    scores = {}
    for c in [float(v) for v in args.c.split(",")]:
        vec, model = fit([train_texts[i] for i in keep], y_train[keep], c)
        scores[c] = float(model.score(vec.transform([train_texts[i] for i in held]), y_train[held]))
        print(f"C={c:g}: validation accuracy {scores[c]:.4f}", flush=True)
    best = max(scores, key=scores.get)
    fit_started = time.perf_counter()
    vec, model = fit(train_texts, y_train, best)
    accuracy = float(model.score(vec.transform(test_texts), y_test))
    print(
        f"{args.dataset}: TF-IDF ({'character 1-3' if args.dataset == 'nsmc' else '1-2'}-grams) + "
        f"logistic regression, C={best:g} (chosen on validation): "
        f"test accuracy {accuracy:.4f}; final fit {time.perf_counter() - fit_started:.0f} s, "
        f"whole script {time.perf_counter() - started:.0f} s; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
