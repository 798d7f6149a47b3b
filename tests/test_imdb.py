import pytest

from rnncli.data import builtin, imdb
from rnncli.errors import DataError
from tests.conftest import DATA, make_tar, needs_imdb


def _members():
    members = {}
    for split in ("train", "test"):
        for polarity, text in (("pos", "Great film!<br /><br />Loved it."), ("neg", "Awful.<br/>Boring")):
            for i in range(3):
                members[f"aclImdb/{split}/{polarity}/{i}_7.txt"] = f"{text} {i}".encode()
    members["aclImdb/README"] = b"readme"
    return members


def test_small_archive_and_extracted_folder_give_the_same_corpus(tmp_path):
    from_archive = imdb.load(make_tar(tmp_path / "a.tar.gz", _members()))
    folder = tmp_path / "x"
    for name, data in _members().items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    from_folder = imdb.load(folder / "aclImdb")
    assert from_archive.train_texts == from_folder.train_texts
    assert from_archive.train_labels.tolist() == from_folder.train_labels.tolist()
    assert from_archive.test_texts == from_folder.test_texts
    assert from_archive.label_names == ("negative", "positive")
    assert len(from_archive.train_texts) == 6 and len(from_archive.test_texts) == 6
    assert all("<br" not in text for text in from_archive.train_texts)
    for text, label in zip(from_archive.train_texts, from_archive.train_labels):
        assert (label == 1) == text.startswith("Great")


def test_archive_without_reviews_is_refused(tmp_path):
    with pytest.raises(DataError, match="no aclImdb/train"):
        imdb.load(make_tar(tmp_path / "a.tar.gz", {"aclImdb/README": b"x"}))


@pytest.mark.slow
@needs_imdb
def test_real_corpus_has_25000_reviews_per_split():
    corpus = builtin.load("imdb", DATA)
    assert (len(corpus.train), len(corpus.test)) == (25000, 25000)
    assert corpus.train_labels.sum() == 12500 and corpus.test_labels.sum() == 12500
    assert corpus.vocabulary.words[:3] == ("the", "and", "a")


def test_an_unreadable_file_in_an_extracted_folder_is_a_data_error_naming_it(tmp_path):
    for name, data in _members().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    broken = tmp_path / "aclImdb" / "train" / "pos" / "9_7.txt"
    broken.mkdir()  # matches the pattern, cannot be read (a permission error does the same)
    with pytest.raises(DataError, match="9_7.txt: cannot read"):
        imdb.load(tmp_path / "aclImdb")
