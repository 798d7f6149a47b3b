import contextlib
import functools
import http.server
import os
import threading
from dataclasses import replace

import pytest

from rnncli.data import builtin, fetch
from rnncli.errors import DataError, DownloadError
from rnncli.progress import NullReporter, RecordingReporter
from tests.conftest import DATA, make_tar, needs_reuters


def test_locate_prefers_data_dir_then_cache(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    cache.mkdir()
    monkeypatch.setenv("RNNCLI_CACHE", str(cache))
    monkeypatch.delenv("RNNCLI_DATA", raising=False)
    (cache / "x.tar.gz").write_bytes(b"c")
    assert fetch.locate("x.tar.gz") == cache / "x.tar.gz"
    (data / "x.tar.gz").write_bytes(b"d")
    assert fetch.locate("x.tar.gz", data_dir=data) == data / "x.tar.gz"
    monkeypatch.setenv("RNNCLI_DATA", str(data))
    assert fetch.locate("x.tar.gz") == data / "x.tar.gz"
    (data / "x").mkdir()
    assert fetch.locate("x.tar.gz", folder_name="x") == data / "x"


def test_offline_error_names_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path))
    monkeypatch.delenv("RNNCLI_DATA", raising=False)
    with pytest.raises(DownloadError) as info:
        fetch.download("aclImdb_v1.tar.gz", ["http://127.0.0.1:9/aclImdb_v1.tar.gz"], timeout=2)
    message = str(info.value)
    assert "aclImdb_v1.tar.gz" in message and str(tmp_path) in message
    assert not list(tmp_path.iterdir())


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_from_a_loopback_server_is_atomic(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    (served / "c.tar.gz").write_bytes(b"payload" * 1000)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=served))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
        url = f"http://127.0.0.1:{server.server_address[1]}/c.tar.gz"
        path = fetch.download("c.tar.gz", ["http://127.0.0.1:9/missing", url], NullReporter())
    finally:
        server.shutdown()
    assert path.read_bytes() == b"payload" * 1000
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.tar.gz", "c.tar.gz.sha256"]
    assert fetch.check_download(path) is None


@contextlib.contextmanager
def _serving(folder, handler=_Quiet):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class _ShortBody(_Quiet):
    """Promises more bytes than it sends, as a dropped connection does."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "5000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)


def test_a_truncated_or_wrong_download_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    with _serving(tmp_path, _ShortBody) as base, pytest.raises(DownloadError) as info:
        fetch.download("c.tar.gz", [f"{base}/c.tar.gz"], timeout=5)
    assert "c.tar.gz" in str(info.value)
    served = tmp_path / "served"
    served.mkdir()
    (served / "c.tar.gz").write_bytes(b"payload")
    with _serving(served) as base, pytest.raises(DownloadError, match="checksum mismatch"):
        fetch.download("c.tar.gz", [f"{base}/c.tar.gz"], sha256="0" * 64)
    assert not list((tmp_path / "cache").iterdir())


def _imdb_mirror(tmp_path, monkeypatch):
    """A small IMDB archive served on loopback, the dataset pointed at it, an empty cache."""
    served = tmp_path / "served"
    served.mkdir()
    members = {
        f"aclImdb/{s}/{p}/1_1.txt": f"{p} review {s}".encode()
        for s in ("train", "test")
        for p in ("pos", "neg")
    }
    archive = make_tar(served / "aclImdb_v1.tar.gz", members)
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    return served, archive


def _damage_on_disk(path, data: bytes) -> None:
    """New content, as the disk damages a file: the same file, its modification time unchanged."""
    stat = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_download_is_fetched_again_with_a_warning(tmp_path, monkeypatch, damage):
    served, archive = _imdb_mirror(tmp_path, monkeypatch)
    empty = tmp_path / "no-local-copies"
    empty.mkdir()
    with _serving(served) as base:
        dataset = replace(builtin.DATASETS["imdb"], urls=(f"{base}/aclImdb_v1.tar.gz",), sha256=None)
        monkeypatch.setitem(builtin.DATASETS, "imdb", dataset)
        first = builtin.load("imdb", empty, use_cache=False)
        cached = fetch.cache_dir() / "aclImdb_v1.tar.gz"
        assert fetch.is_download(cached)
        data = bytearray(cached.read_bytes())
        if damage == "flip":
            data[len(data) // 2] ^= 0xFF
        else:
            data = data[: len(data) // 2]
        _damage_on_disk(cached, bytes(data))
        reporter = RecordingReporter()
        again = builtin.load("imdb", empty, reporter, use_cache=False)
    assert len(reporter.warnings) == 1 and "damaged download" in reporter.warnings[0]
    assert again.vocabulary == first.vocabulary
    assert cached.read_bytes() == archive.read_bytes() and fetch.check_download(cached) is None


def test_a_damaged_archive_of_the_users_own_is_reported_never_deleted(tmp_path, monkeypatch):
    _, archive = _imdb_mirror(tmp_path, monkeypatch)
    archive.write_bytes(archive.read_bytes()[:100])
    with pytest.raises(DataError, match="corrupt or truncated"):
        builtin.load("imdb", archive.parent, use_cache=False)
    assert archive.is_file()


def _reuters_offline(tmp_path, monkeypatch, folder):
    """Reuters pointed at a dead mirror, `folder` both the cache and the data folder."""
    monkeypatch.setenv("RNNCLI_CACHE", str(folder))
    monkeypatch.setenv("RNNCLI_DATA", str(folder))
    dataset = replace(builtin.DATASETS["reuters"], urls=("http://127.0.0.1:9/reuters21578.tar.gz",))
    monkeypatch.setitem(builtin.DATASETS, "reuters", dataset)


@needs_reuters
@pytest.mark.parametrize("record", ["no record", "stale record"])
def test_an_archive_of_the_users_in_the_cache_folder_is_never_deleted(tmp_path, monkeypatch, record):
    """A folder that is both --data-dir and $RNNCLI_CACHE: the archive there is the user's unless
    rnncli's own record names that very file. Before, it was deleted as a "damaged download"."""
    folder = tmp_path / "mine"
    folder.mkdir()
    _reuters_offline(tmp_path, monkeypatch, folder)
    archive = folder / "reuters21578.tar.gz"
    if record == "stale record":  # left by an earlier download the user has since replaced
        archive.write_bytes(b"an old download")
        fetch._write_record(archive, fetch.sha256_of(archive))
        archive.unlink()
    with open(DATA / "reuters21578.tar.gz", "rb") as real:
        archive.write_bytes(real.read(100_000))  # the reviewer's case: a truncated copy
    before = archive.read_bytes()
    assert not fetch.is_download(archive)
    reporter = RecordingReporter()
    with pytest.raises(DataError, match="corrupt or truncated") as info:
        builtin.load("reuters", folder, reporter, use_cache=False)
    assert str(archive) in str(info.value) and not reporter.warnings
    assert archive.read_bytes() == before


def test_a_damaged_download_that_cannot_be_fetched_again_is_kept_and_the_hint_avoids_the_cache(
    tmp_path, monkeypatch
):
    served, _ = _imdb_mirror(tmp_path, monkeypatch)
    monkeypatch.delenv("RNNCLI_DATA", raising=False)
    with _serving(served) as base:
        dataset = replace(builtin.DATASETS["imdb"], urls=(f"{base}/aclImdb_v1.tar.gz",), sha256=None)
        monkeypatch.setitem(builtin.DATASETS, "imdb", dataset)
        builtin.load("imdb", use_cache=False)
    cached = fetch.cache_dir() / "aclImdb_v1.tar.gz"
    _damage_on_disk(cached, cached.read_bytes()[:100])  # and now we are offline
    monkeypatch.setitem(builtin.DATASETS, "imdb", replace(dataset, urls=("http://127.0.0.1:9/x",)))
    reporter = RecordingReporter()
    with pytest.raises(DownloadError, match="is damaged .* and cannot be downloaded again") as info:
        builtin.load("imdb", reporter=reporter, use_cache=False)
    assert len(reporter.warnings) == 1 and "damaged download" in reporter.warnings[0]
    assert len(cached.read_bytes()) == 100 and fetch.is_download(cached)  # kept, as it was
    # A good copy put over ours would still count as ours: the hint names another folder.
    assert str(fetch.cache_dir()) not in info.value.hint and "--data-dir" in info.value.hint


def test_the_offline_hint_names_the_data_folder_searched_first(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RNNCLI_DATA", str(tmp_path / "env-data"))
    named = tmp_path / "named"
    with pytest.raises(DownloadError) as info:
        fetch.download("x.tar.gz", ["http://127.0.0.1:9/x.tar.gz"], timeout=2, data_dir=named)
    assert info.value.hint == f"put x.tar.gz in {named} (searched before the cache)"
    with pytest.raises(DownloadError) as info:
        fetch.download("x.tar.gz", ["http://127.0.0.1:9/x.tar.gz"], timeout=2)
    assert str(tmp_path / "env-data") in info.value.hint and "cache" not in info.value.hint.split("(")[0]


def test_a_download_is_ours_only_while_its_record_names_that_very_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    served = tmp_path / "served"
    served.mkdir()
    (served / "c.tar.gz").write_bytes(b"payload")
    with _serving(served) as base:
        path = fetch.download("c.tar.gz", [f"{base}/c.tar.gz"])
    assert fetch.is_download(path)
    _damage_on_disk(path, b"payloaX")
    assert fetch.is_download(path)  # damaged by the disk: still ours, to fetch again
    path.write_bytes(b"payloaX")
    assert not fetch.is_download(path)  # written to since: not the file rnncli downloaded
    path.write_bytes(b"payload")
    fetch._write_record(path, fetch.sha256_of(path))
    record = fetch.digest_path(path).read_text()
    assert record.splitlines()[0] == f"{fetch.sha256_of(path)}  c.tar.gz"  # sha256sum -c format
    replacement = tmp_path / "users-copy"
    replacement.write_bytes(b"the user's own")
    replacement.replace(path)  # moved over ours: another file, whatever its name
    assert not fetch.is_download(path)
    fetch.digest_path(path).write_text(record.splitlines()[0] + "\n")  # an old record, no inode
    assert not fetch.is_download(path)
    assert not fetch.is_download(tmp_path / "users-copy")


def test_files_published_together_are_found_only_together_in_search_order(tmp_path, monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("RNNCLI_CACHE", str(cache))
    monkeypatch.delenv("RNNCLI_DATA", raising=False)
    names = ("a.txt", "b.txt")
    for folder, name in ((data, "a.txt"), (data / "sub", "b.txt"), (cache / "sub", "a.txt")):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    assert fetch.locate_together(names, "sub", data) is None  # never one from each folder
    (cache / "sub" / "b.txt").write_text("b")
    assert fetch.locate_together(names, "sub", data) == cache / "sub"
    (cache / "a.txt").write_text("a")
    (cache / "b.txt").write_text("b")
    assert fetch.locate_together(names, "sub", data) == cache  # a folder before its sub-folder
    (data / "sub" / "a.txt").write_text("a")
    assert fetch.locate_together(names, "sub", data) == data / "sub"  # the data folder first
    assert fetch.locate_together(names, "sub") == cache  # without it, the cache
    monkeypatch.setenv("RNNCLI_DATA", str(data))
    assert fetch.locate_together(names, "sub") == data / "sub"
    assert fetch.candidate_folders("sub") == [data, data / "sub", cache, cache / "sub"]
    assert fetch.candidate_folders("sub", cache) == [cache, cache / "sub"]  # each folder once


def test_the_offline_hint_names_every_file_of_a_corpus_published_as_several(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNCLI_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNCLI_DATA", raising=False)
    with pytest.raises(DownloadError) as info:
        fetch.download("b.txt", ["http://127.0.0.1:9/b.txt"], timeout=2, together=["a.txt", "b.txt"])
    assert info.value.message.startswith("cannot find b.txt locally and cannot download it")
    assert info.value.hint == (
        f"put a.txt and b.txt in {tmp_path / 'cache'} "
        "or point --data-dir / RNNCLI_DATA at a folder holding them"
    )
    assert fetch.offline_hint("a.txt").endswith("holding it")
    assert fetch.offline_hint(["a.txt", "b.txt"], cache_ok=False) == (
        "put a good a.txt and b.txt in another folder and point --data-dir or RNNCLI_DATA at them"
    )
