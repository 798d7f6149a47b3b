"""Atomic writes: fsync of the file and of its folder, all-or-nothing, never a torn read."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from rnncli import atomic


def _record_fsyncs(monkeypatch) -> list[str]:
    """Every fsync as the kind of thing synced: 'file' or 'dir'."""
    synced: list[str] = []
    real = os.fsync

    def fsync(fd):
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


@pytest.mark.parametrize(
    "write",
    [
        lambda path: atomic.atomic_write_text(path, "new"),
        lambda path: atomic.atomic_write_bytes(path, b"new"),
        lambda path: atomic.atomic_copy(path.with_name("source"), path),
    ],
    ids=["text", "bytes", "copy"],
)
def test_writes_fsync_the_file_and_its_folder_before_and_after_the_rename(tmp_path, monkeypatch, write):
    (tmp_path / "source").write_text("new")
    path = tmp_path / "f.json"
    path.write_text("old")
    synced = _record_fsyncs(monkeypatch)
    write(path)
    assert path.read_text() == "new"
    assert synced[0] == "file" and synced[-1] == "dir"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json", "source"]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_debris(tmp_path):
    path = tmp_path / "f.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic.atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write("half of the new")
        raise RuntimeError("killed")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_exclusive_create_has_one_winner(tmp_path):
    path = tmp_path / "status.json"
    atomic.atomic_create_text(path, "first")
    with pytest.raises(FileExistsError):
        atomic.atomic_create_text(path, "second")
    assert path.read_text() == "first" and [p.name for p in tmp_path.iterdir()] == ["status.json"]


def _hammer(path: str, text: str, rounds: int) -> None:
    for _ in range(rounds):
        atomic.atomic_write_text(Path(path), text)


def test_concurrent_writers_never_show_a_reader_a_torn_file(tmp_path):
    path = tmp_path / "LATEST"
    texts = ["a" * 50_000, "b" * 70_000]
    atomic.atomic_write_text(path, texts[0])
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_hammer, args=(str(path), text, 60)) for text in texts]
    for writer in writers:
        writer.start()
    seen = set()
    while any(writer.is_alive() for writer in writers):
        seen.add(path.read_text())
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert seen <= set(texts) and path.read_text() in texts
    assert [p.name for p in tmp_path.iterdir()] == ["LATEST"]


def test_the_umask_is_read_without_ever_being_changed(tmp_path, monkeypatch):
    """Setting the umask to 0 to read it would, for that moment, make files that other threads
    create world-writable; the umask must only ever be read."""
    real = os.umask(0o027)
    os.umask(0o027)
    try:

        def no_umask(mask):
            raise AssertionError(f"os.umask({mask:o}) called while writing")

        monkeypatch.setattr(os, "umask", no_umask)
        atomic.atomic_write_text(tmp_path / "a.json", "new")
        atomic.atomic_create_text(tmp_path / "b.json", "new")
        for name in ("a.json", "b.json"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640
    finally:
        monkeypatch.undo()
        os.umask(real)
