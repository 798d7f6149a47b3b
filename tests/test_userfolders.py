"""Folders of class folders: which folders are classes, and which files are ever read."""

from __future__ import annotations

import errno
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from rnncli.data import userfiles, userfolders
from rnncli.data.usersource import UserSource
from rnncli.errors import DataError
from rnncli.progress import RecordingReporter


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def _load(path, **kwargs):
    reporter = RecordingReporter()
    corpus = userfiles.load(UserSource(str(path), **kwargs), seed=0, reporter=reporter)
    return corpus, reporter.warnings


@contextmanager
def _deadline(seconds: int):
    """Fail instead of hanging: SIGALRM interrupts a blocking open() of a FIFO."""

    def expired(signum, frame):
        raise TimeoutError(f"still reading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _acl_like(root: Path, per_class: int = 4) -> Path:
    """aclImdb's layout: train/{pos,neg,unsup}, test/{pos,neg}, plus files beside the classes."""
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            _write(
                root / split / label, {f"{i}_7.txt": f"{label} review number {i}" for i in range(per_class)}
            )
        _write(root / split, {"urls_pos.txt": "http://x", "labeledBow.feat": "0 1:1"})
    _write(root / "train" / "unsup", {f"{i}_0.txt": f"unlabelled review {i}" for i in range(3 * per_class)})
    _write(root, {"imdb.vocab": "the\n", "README": "readme"})
    return root


def test_acl_imdb_layout_trains_two_classes_and_sets_unsup_aside(tmp_path):
    root = _acl_like(tmp_path / "aclImdb")
    corpus, warnings = _load(root)
    assert corpus.label_names == ("neg", "pos")
    assert (len(corpus.train), len(corpus.test)) == (8, 8)
    assert "unlabelled" not in corpus.vocabulary.words
    (warning,) = warnings
    assert "train: skipped 'unsup' (12 files): no folder of that name in" in warning
    # summary counts what load trains, without reading the texts.
    assert userfiles.count_classes(UserSource(str(root))) == 2
    # Naming both folders gives the same answer.
    both, _ = _load(root / "train", test_path=str(root / "test"))
    assert both.label_names == ("neg", "pos") and len(both.train) == 8


def test_a_test_class_without_training_folder_is_an_error(tmp_path):
    root = _acl_like(tmp_path / "aclImdb")
    _write(root / "test" / "mixed", {"0.txt": "x"})
    with pytest.raises(DataError, match=r"test/mixed: class 'mixed' does not occur in .*train"):
        _load(root)


def test_hidden_folders_and_files_are_skipped_and_nested_folders_read(tmp_path):
    root = _write(
        tmp_path / "docs",
        {
            "pos/a.txt": "good",
            "pos/2020/b.txt": "nested good",
            "pos/2020/deeper/c.txt": "deeper good",
            "pos/.d.txt": "hidden file",
            "pos/.cache/e.txt": "hidden folder",
            "neg/a.txt": "bad",
            "neg/b.txt": "awful",
            "neg/notes.md": "not a text",
            ".ipynb_checkpoints/f.txt": "checkpoint",
            "sub.txt/g.txt": "a folder named like a file",
            "sub.txt/h.txt": "is a class folder like any other",
        },
    )
    corpus, warnings = _load(root, test_split=0.4)
    assert corpus.label_names == ("neg", "pos", "sub.txt")
    assert len(corpus.train) + len(corpus.test) == 7 and not warnings
    words = set(corpus.vocabulary.words)
    assert not words & {"hidden", "checkpoint", "text"}


def test_files_of_a_class_come_in_path_order(tmp_path):
    root = _write(
        tmp_path / "d", {"a/1.txt": "one", "a/z/2.txt": "two", "a/b/3.txt": "three", "b/1.txt": "x"}
    )
    rows = list(userfiles.iter_rows(root, UserSource(str(root))))
    assert [text for _, text, _ in rows] == ["one", "three", "two", "x"]


def test_links_fifos_and_folders_named_txt_are_never_read(tmp_path):
    secret = _write(tmp_path, {"credentials": "aws_secret_access_key sekrit"}) / "credentials"
    outside = _write(tmp_path / "outside", {"o.txt": "outsider words"})
    root = _write(
        tmp_path / "data",
        {f"{label}/{i}.txt": f"{label} words {i}" for label in ("pos", "neg") for i in range(5)},
    )
    (root / "pos" / "r.txt").symlink_to(secret)  # a link out of the tree
    (root / "pos" / "zero.txt").symlink_to("/dev/zero")  # used to read 9 GB
    (root / "neg" / "inside.txt").symlink_to(root / "pos" / "0.txt")  # a link inside it
    (root / "neg" / "linked").symlink_to(outside)  # a linked folder
    (root / "linked_class").symlink_to(outside)  # a linked class folder
    os.mkfifo(root / "neg" / "x.txt")  # used to hang forever
    (root / "pos" / "dir.txt").mkdir()  # used to raise IsADirectoryError
    with _deadline(20):
        corpus, warnings = _load(root, test_split=0.2)
    assert corpus.label_names == ("neg", "pos") and len(corpus.train) + len(corpus.test) == 10
    assert not set(corpus.vocabulary.words) & {"aws_secret_access_key", "sekrit", "outsider"}
    (warning,) = warnings
    assert "skipped 5 symbolic links and 1 .txt entry that is not a regular file" in warning
    assert str(root) in warning and "only regular files inside the folder are read" in warning


def test_a_file_swapped_for_a_link_or_fifo_after_the_scan_is_skipped(tmp_path):
    skipped = userfolders._Skipped()
    (tmp_path / "secret").write_text("secret")
    (tmp_path / "link.txt").symlink_to(tmp_path / "secret")
    os.mkfifo(tmp_path / "fifo.txt")
    with _deadline(20):
        assert userfolders._read_regular(tmp_path / "link.txt", skipped) is None
        assert userfolders._read_regular(tmp_path / "fifo.txt", skipped) is None
    assert (skipped.links, skipped.special) == (1, 1)
    (tmp_path / "ok.txt").write_bytes(b"fine")
    assert userfolders._read_regular(tmp_path / "ok.txt", skipped) == b"fine"


def test_an_oversized_text_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(userfolders, "MAX_LINE", 100)
    root = _write(tmp_path / "d", {"a/1.txt": "x" * 101, "b/1.txt": "y"})
    with pytest.raises(DataError, match=r"a/1.txt: larger than 100 bytes"):
        _load(root)


def test_an_unreadable_file_is_named(tmp_path, monkeypatch):
    root = _write(tmp_path / "d", {"a/1.txt": "x", "b/1.txt": "y"})
    real_open = os.open

    def denied(path, *args, **kwargs):
        if str(path).endswith("a/1.txt"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(userfolders.os, "open", denied)
    with pytest.raises(DataError, match=r"a/1.txt: cannot read \(Permission denied\)"):
        _load(root)
