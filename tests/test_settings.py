import pytest

from rnncli.errors import UsageError
from rnncli.settings import model_spec, resolve


def test_book_defaults_per_dataset_and_architecture():
    reuters = resolve("reuters")
    assert (reuters.arch, reuters.num_words, reuters.maxlen, reuters.batch_size) == ("lstm", 1000, 100, 20)
    assert (reuters.epochs, reuters.patience, reuters.embedding_dim, reuters.units) == (200, 5, 100, 100)
    imdb = resolve("imdb")
    assert (imdb.arch, imdb.num_words, imdb.maxlen, imdb.batch_size) == ("cnn-lstm", 5000, 500, 40)
    assert (imdb.epochs, imdb.patience, imdb.val_fraction) == (100, 3, 0.25)
    assert resolve("imdb", arch="attention").embedding_dim == 500


def test_overrides_win_and_test_validation_is_explicit():
    s = resolve("imdb", epochs=2, units=8, val="test")
    assert s.epochs == 2 and s.units == 8 and s.validate_on_test


def test_no_validation_trains_on_everything_and_monitors_training_loss():
    none = resolve("reuters", val="none")
    assert (none.validates, none.validate_on_test, none.val_fraction, none.monitor) == (
        False,
        False,
        0.0,
        "loss",
    )
    assert not none.holds_out and not resolve("reuters", val="test").holds_out
    held = resolve("reuters", val="0.1")
    assert (held.validates, held.holds_out, held.val_fraction, held.monitor) == (True, True, 0.1, "val_loss")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"arch": "transformer"}, "unknown architecture"),
        ({"num_words": 3}, "num_words"),
        ({"maxlen": 0}, "maxlen"),
        ({"val": "1.5"}, "--val"),
        ({"val": "half"}, "--val"),
        ({"epochs": 0}, "--epochs"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_impossible_settings_are_usage_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        resolve("reuters", **kwargs)


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(UsageError, match="imdb, reuters"):
        resolve("mnist")


def test_presets_apply_and_explicit_options_still_win():
    best = resolve("reuters", preset="best")
    assert (best.arch, best.preset, best.buckets, best.pooling) == ("fasttext", "best", 100_000, "sqrtn")
    assert best.num_words == 20000 and best.mask
    # Found by `rnncli tune` on validation, then fitted on every training wire for 2 epochs.
    assert (best.val, best.epochs, best.validates) == ("none", 2, False)
    imdb = resolve("imdb", preset="best")
    assert (imdb.arch, imdb.ngrams, imdb.buckets, imdb.maxlen, imdb.val) == (
        "nbsvm",
        3,
        2_000_000,
        1000,
        "0.1",
    )
    assert resolve("reuters", preset="best", maxlen=300, seed=3).maxlen == 300
    book = resolve("imdb")
    assert (book.preset, book.arch, book.num_words) == ("book", "cnn-lstm", 5000)


def test_ngram_architectures_bring_their_own_buckets_and_n_gram_length():
    nbsvm, fasttext = resolve("imdb", arch="nbsvm"), resolve("imdb", arch="fasttext")
    assert (nbsvm.buckets, nbsvm.ngrams) == (2_000_000, 3)
    assert (fasttext.buckets, fasttext.ngrams) == (200_000, 2)
    assert model_spec(nbsvm, 2).embedding_rows == 5000 + 2_000_000
    # Recurrent models carry no buckets into their spec.
    assert model_spec(resolve("imdb", buckets=10), 2).buckets == 0


def test_attention_block_is_chosen_by_name():
    assert model_spec(resolve("imdb", arch="attention"), 2).attention == "luong"
    assert model_spec(resolve("imdb", arch="attention", attention="pool"), 2).attention == "pool"
    with pytest.raises(UsageError, match="attention must be one of luong, pool"):
        resolve("imdb", arch="attention", attention="bahdanau")


def test_another_arch_than_the_presets_keeps_its_own_widths():
    s = resolve("imdb", preset="best", arch="lstm")
    assert (s.arch, s.embedding_dim, s.units) == ("lstm", 100, 100)
    assert s.num_words == 40000  # the preset's data settings still apply


def test_unknown_preset_lists_the_valid_names():
    with pytest.raises(UsageError, match="unknown preset 'fast'.*book, best"):
        resolve("imdb", preset="fast")
