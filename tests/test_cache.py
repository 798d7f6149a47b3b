import numpy as np
import pytest

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


def test_a_flipped_byte_is_caught_by_the_checksum_and_rebuilt_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    _small_imdb(tmp_path)
    first = builtin.load("imdb", tmp_path)
    path = cache.cache_path("imdb")
    data = bytearray(path.read_bytes())
    # Inside the words array's bytes, past its header: the file still opens, the CRC disagrees.
    where = data.index("review".encode("utf-32-le"))
    data[where] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a valid cache file"):
        cache.load(path)
    reporter = RecordingReporter()
    again = builtin.load("imdb", tmp_path, reporter)
    assert len(reporter.warnings) == 1 and "damaged cache" in reporter.warnings[0]
    assert again.vocabulary == first.vocabulary and cache.load(path).vocabulary == first.vocabulary


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04" + b"\x00" * 60, b"garbage" * 100])
def test_any_damaged_cache_is_a_value_error(tmp_path, damage):
    path = tmp_path / "c.npz"
    path.write_bytes(damage)
    with pytest.raises(ValueError):
        cache.load(path)


def test_a_cache_carrying_a_pickle_is_refused_never_unpickled(tmp_path):
    path = tmp_path / "c.npz"
    cache.save(_corpus(), path)
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["words"] = np.array([object()], dtype=object)  # np.savez pickles object arrays
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="not a valid cache file.*allow_pickle"):
        cache.load(path)
