"""Naive Bayes log-count ratios: the fixed half of NBSVM (Wang & Manning, 2012).

NBSVM scales each binary n-gram feature by how much more often it occurs in one class than in
the other, then learns a linear model over the scaled features. The ratios are counted once from
the training split before training starts and stay fixed; the model learns only the weights
that multiply them. Counted here rather than by a Keras layer because they are statistics of the
whole training split, not a function of one batch.
"""

from __future__ import annotations

import numpy as np

#: Rows passed through the n-gram layer at a time: bounds memory on long texts.
BATCH = 1000


def log_count_ratios(
    grams, labels: np.ndarray, rows: int, num_classes: int, alpha: float = 1.0
) -> np.ndarray:
    """Ratios of shape (rows, columns) for batches of n-gram id rows `grams` (0 = none).

    Two classes give one column (class 1 against class 0); more give one column per class, that
    class against all the others. Id 0 gets ratio 0, so padding adds nothing to a score.
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    counts = np.zeros((num_classes, rows))
    start = 0
    for batch in grams:
        batch = np.asarray(batch)
        batch_labels = labels[start : start + len(batch)]
        start += len(batch)
        for cls in np.unique(batch_labels):
            ids = batch[batch_labels == cls]
            found = np.bincount(ids[ids > 0], minlength=rows)
            if len(found) > rows:
                raise ValueError(f"n-gram id {len(found) - 1} is past the table's {rows} rows")
            counts[cls] += found
    if num_classes == 2:
        pairs = [(counts[1], counts[0])]
    else:
        total = counts.sum(axis=0)
        pairs = [(counts[c], total - counts[c]) for c in range(num_classes)]
    # Filled column by column: a list of float64 columns stacked and cast held three copies of
    # the table at once (11 GB for 10 million buckets and 46 classes).
    ratios = np.empty((rows, len(pairs)), dtype=np.float32)
    for column, (inside, outside) in enumerate(pairs):
        p = inside + alpha
        q = outside + alpha
        ratios[:, column] = np.log(p / p.sum()) - np.log(q / q.sum())
    ratios[0] = 0.0
    return ratios


def fit_ratios(model, x: np.ndarray, y: np.ndarray, num_classes: int) -> None:
    """Count the ratios on the training rows `x` (padded word ids) and load them into `model`."""
    ngrams = model.get_layer("ngrams")
    table = model.get_layer("nb_ratios")
    grams = (np.asarray(ngrams(x[i : i + BATCH])) for i in range(0, len(x), BATCH))
    table.set_weights([log_count_ratios(grams, y, table.input_dim, num_classes)])
