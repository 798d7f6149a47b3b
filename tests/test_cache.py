import numpy as np

from rnncli.data import builtin, cache
from rnncli.data.corpus import EncodedCorpus, RawCorpus
from rnncli.progress import RecordingReporter
from tests.conftest import make_tar


def _corpus():
    raw = RawCorpus("t", ("neg", "pos"), ["a b c", "b c"], np.array([0, 1]), ["c d"], np.array([1]))
    return EncodedCorpus.from_raw(raw)


def test_round_trip(tmp_path):
    corpus = _corpus()
    cache.save(corpus, tmp_path / "c.npz")
    loaded = cache.load(tmp_path / "c.npz")
    assert loaded.vocabulary == corpus.vocabulary and loaded.label_names == corpus.label_names
    assert loaded.train.flat.tolist() == corpus.train.flat.tolist()
    assert loaded.test_labels.tolist() == [1]


def _small_imdb(folder):
    members = {}
    for split in ("train", "test"):
        for polarity in ("pos", "neg"):
            members[f"aclImdb/{split}/{polarity}/1_1.txt"] = f"{polarity} review".encode()
    return make_tar(folder / "aclImdb_v1.tar.gz", members)


def test_damaged_cache_is_rebuilt_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    _small_imdb(tmp_path)
    first = builtin.load("imdb", tmp_path)
    path = cache.cache_path("imdb")
    assert path.is_file()
    path.write_bytes(path.read_bytes()[:100])
    reporter = RecordingReporter()
    again = builtin.load("imdb", tmp_path, reporter)
    assert reporter.warnings and "damaged cache" in reporter.warnings[0]
    assert again.vocabulary == first.vocabulary
    assert cache.load(path).vocabulary == first.vocabulary
