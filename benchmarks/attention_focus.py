"""Does the attention model learn through its attention block? Before/after on real reviews.

    python benchmarks/attention_focus.py --run runs/imdb-attention-...   # default: latest run

Compares the trained run with the same architecture freshly initialised under the run's seed
(the weights training started from), on IMDB test reviews:
  change   how far training moved the attention block's weights (relative Frobenius norm);
  entropy  the attention distribution's entropy over the review's words, divided by the entropy
           of a uniform distribution (1.0 = spread evenly, lower = concentrated);
  polar    the share of attention on sentiment words, divided by their share of the words (1.0 =
           no preference). Sentiment words are defined from the training split alone: the 500
           words most skewed towards positive and the 500 most skewed towards negative reviews
           (smoothed log-odds, words seen at least 20 times);
and prints the top words of a few reviews.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np


def polar_words(corpus, count: int = 500, min_count: int = 20) -> set[int]:
    """Encoded ids of the words most skewed to either class on the training split."""
    pos, neg = Counter(), Counter()
    for i in range(len(corpus.train)):
        (pos if corpus.train_labels[i] == 1 else neg).update(set(corpus.train[i].tolist()))
    ids = [w for w in set(pos) | set(neg) if w > 3 and pos[w] + neg[w] >= min_count]
    odds = {w: np.log((pos[w] + 1) / (neg[w] + 1)) for w in ids}
    ranked = sorted(ids, key=odds.get)
    return set(ranked[:count]) | set(ranked[-count:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--reviews", type=int, default=1000, help="test reviews to average over")
    parser.add_argument("--show", type=int, default=4, help="reviews whose top words are printed")
    args = parser.parse_args()

    from rnncli import runs
    from rnncli.backend import keras, set_determinism
    from rnncli.data import builtin
    from rnncli.explain import attention_weights
    from rnncli.models import factories
    from rnncli.predict import Predictor

    run = runs.open_run(args.run)
    predictor = Predictor(run, prefer_litert=False)
    spec = predictor.spec
    if spec.arch != "attention":
        raise SystemExit(f"{run.path} is a {spec.arch} run; give an attention run")
    corpus = builtin.load("imdb")
    polar = polar_words(corpus)
    rng = np.random.RandomState(0)
    chosen = rng.choice(len(corpus.test), size=args.reviews, replace=False)
    rows = corpus.test.take(chosen).padded(spec.num_words, spec.maxlen)

    trained = predictor.keras_model
    set_determinism(int(run.config["training"]["seed"]))
    initial = factories.build(spec, compile=False)
    keras()  # both models built; compare the attention block's weights
    before = [np.asarray(w) for w in initial.get_layer("attention").get_weights()]
    after = [np.asarray(w) for w in trained.get_layer("attention").get_weights()]
    change = np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(after, before))) / np.sqrt(
        sum((b**2).sum() for b in before)
    )

    class Fresh:  # attention_weights() reads the model and its spec from a predictor
        keras_model = initial
        spec = predictor.spec

    def stats(model_holder) -> tuple[float, float, np.ndarray]:
        weights = np.concatenate(
            [attention_weights(model_holder, rows[i : i + 256]) for i in range(0, len(rows), 256)]
        )
        entropies, lifts = [], []
        for row, w in zip(rows, weights):
            real = row > 3  # words (not padding, start or out-of-vocabulary marks)
            if real.sum() < 2:
                continue
            p = w[real] / w[real].sum()
            entropies.append(-(p * np.log(p + 1e-12)).sum() / np.log(real.sum()))
            is_polar = np.array([t in polar for t in row[real]])
            if 0 < is_polar.mean() < 1:
                lifts.append(p[is_polar].sum() / is_polar.mean())
        return float(np.mean(entropies)), float(np.mean(lifts)), weights

    e0, l0, _ = stats(Fresh)
    e1, l1, weights = stats(predictor)
    accuracy = json.loads((run.path / "metrics.json").read_text())["test_accuracy"]
    print(f"run: {run.path} (test accuracy {accuracy:.4f})")
    print(f"attention block weights moved by {change:.2f} of their initial norm in training")
    print(f"{'':12}{'entropy / uniform':>20}{'polar-word lift':>18}   ({len(rows)} test reviews)")
    print(f"{'initial':12}{e0:>20.3f}{l0:>18.2f}")
    print(f"{'trained':12}{e1:>20.3f}{l1:>18.2f}")
    words = {i + 4: w for i, w in enumerate(predictor.encoder.vocabulary_words)}
    shown = 0
    for row, w in zip(rows, weights):
        real = np.flatnonzero(row > 3)
        if shown >= args.show or not 20 <= len(real) <= 80:
            continue
        top = real[np.argsort(-w[real])[:6]]
        total = w[real].sum()
        print("  " + ", ".join(f"{words.get(int(row[c]), '?')} {w[c] / total:.3f}" for c in top))
        shown += 1


if __name__ == "__main__":
    main()
