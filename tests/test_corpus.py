import numpy as np

from rnncli.data.corpus import EncodedCorpus, RawCorpus, Sequences, stratified_sample, stratified_split


def test_stratified_sample_keeps_class_shares_and_exact_size():
    labels = np.array([0] * 80 + [1] * 15 + [2] * 5)
    picked = stratified_sample(labels, 20, seed=0)
    assert len(picked) == 20 and len(set(picked.tolist())) == 20
    assert np.bincount(labels[picked]).tolist() == [16, 3, 1]
    assert stratified_sample(labels, 20, seed=0).tolist() == picked.tolist()


def test_stratified_split_is_disjoint_and_complete():
    labels = np.array([0, 1] * 50)
    kept, held = stratified_split(labels, 0.2, seed=3)
    assert len(held) == 20 and np.bincount(labels[held]).tolist() == [10, 10]
    assert sorted(kept.tolist() + held.tolist()) == list(range(100))


def test_sequences_store_ragged_rows_and_pad_them():
    seqs = Sequences.from_lists([[1, 5, 9], [], [1, 4]])
    assert len(seqs) == 3 and seqs[1].tolist() == [] and seqs.lengths().tolist() == [3, 0, 2]
    assert seqs.padded(num_words=6, maxlen=2).tolist() == [[5, 2], [0, 0], [1, 4]]
    assert seqs.take(np.array([2, 0]))[0].tolist() == [1, 4]


def test_vocabulary_comes_from_the_training_split_only():
    raw = RawCorpus(
        "t", ("a", "b"), ["good good fine", "good"], np.array([0, 1]), ["secret secret secret"], np.array([1])
    )
    corpus = EncodedCorpus.from_raw(raw)
    assert corpus.vocabulary.words == ("good", "fine")
    assert corpus.test[0].tolist() == [1, 2, 2, 2]
    # One row of each split; the classes tie on remainder, so the first class's row is kept.
    limited = corpus.limited(1)
    assert limited.train_labels.tolist() == [0] and limited.train[0].tolist() == [1, 4, 4, 5]
    assert limited.test_labels.tolist() == [1] and limited.vocabulary == corpus.vocabulary
