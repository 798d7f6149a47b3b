from dataclasses import replace

import numpy as np
import pytest

from rnncli.data import builtin, cache
from rnncli.data.corpus import EncodedCorpus, RawCorpus
from rnncli.errors import DownloadError
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


def _imdb_archive(folder, words: str):
    folder.mkdir(parents=True, exist_ok=True)
    members = {
        f"aclImdb/{split}/{polarity}/1_1.txt": f"{words} {polarity}".encode()
        for split in ("train", "test")
        for polarity in ("pos", "neg")
    }
    return make_tar(folder / "aclImdb_v1.tar.gz", members)


def test_the_cache_serves_only_the_source_it_was_made_from(tmp_path, monkeypatch):
    """Before, `--data-dir` was ignored once a prepared cache existed, whatever folder was named."""
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNCLI_DATA", raising=False)
    monkeypatch.setitem(
        builtin.DATASETS, "imdb", replace(builtin.DATASETS["imdb"], urls=("http://127.0.0.1:9/x",))
    )
    first = _imdb_archive(tmp_path / "a", "apples")
    other = _imdb_archive(tmp_path / "b", "bananas")
    reporter = RecordingReporter()
    corpus, origin = builtin.load_with_origin("imdb", first.parent, reporter)
    assert "apples" in corpus.vocabulary.words and origin == str(first)
    again, origin = builtin.load_with_origin("imdb", first.parent, reporter)
    assert again.vocabulary == corpus.vocabulary
    assert origin == f"{first} (prepared in {cache.cache_path('imdb')})"
    # Another folder named: its own archive, not the cache made from the first.
    corpus, origin = builtin.load_with_origin("imdb", other.parent, reporter)
    assert "bananas" in corpus.vocabulary.words and "apples" not in corpus.vocabulary.words
    assert origin == str(other)
    # A folder with nothing in it: nothing found to read (offline here), not a stale cache.
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DownloadError, match="aclImdb_v1.tar.gz") as info:
        builtin.load("imdb", empty, reporter)
    assert str(empty) in info.value.hint
    # The archive changed in place: rebuilt from it.
    _imdb_archive(tmp_path / "b", "cherries and more")
    assert "cherries" in builtin.load("imdb", other.parent, reporter).vocabulary.words
    assert not reporter.warnings  # a cache of another source is not damage, just rebuilt


def test_a_cache_made_from_an_extracted_folder_follows_its_files(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    for split in ("train", "test"):
        for polarity in ("pos", "neg"):
            folder = tmp_path / "data" / "aclImdb" / split / polarity
            folder.mkdir(parents=True)
            (folder / "1_1.txt").write_text(f"plums {polarity}")
    assert "plums" in builtin.load("imdb", tmp_path / "data").vocabulary.words
    review = tmp_path / "data" / "aclImdb" / "train" / "pos" / "1_1.txt"
    review.write_text("quinces and quinces pos")
    corpus, origin = builtin.load_with_origin("imdb", tmp_path / "data")
    assert "quinces" in corpus.vocabulary.words and origin == str(tmp_path / "data" / "aclImdb")
    assert cache.load(cache.cache_path("imdb"), cache.fingerprint(tmp_path / "data" / "aclImdb"))
    with pytest.raises(cache.StaleCache):
        cache.load(cache.cache_path("imdb"), cache.fingerprint(tmp_path / "data"))


def test_a_fingerprint_of_named_files_follows_them_and_nothing_else_in_their_folder(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
    first = cache.fingerprint(tmp_path, ["a.txt", "b.txt"])
    assert first["path"] == str(tmp_path.resolve()) and set(first["members"]) == {"a.txt", "b.txt"}
    (tmp_path / "other.txt").write_text("not part of the corpus")
    (tmp_path / "sub").mkdir()
    assert cache.fingerprint(tmp_path, ["a.txt", "b.txt"]) == first
    assert cache.fingerprint(tmp_path) != cache.fingerprint(tmp_path, ["a.txt", "b.txt"])
    (tmp_path / "b.txt").write_text("b, changed")
    assert cache.fingerprint(tmp_path, ["a.txt", "b.txt"]) != first
    (tmp_path / "b.txt").unlink()
    with pytest.raises(FileNotFoundError):
        cache.fingerprint(tmp_path, ["a.txt", "b.txt"])
