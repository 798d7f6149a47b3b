import io
import tarfile

import pytest

from rnncli.data import archives
from rnncli.errors import DataError, UnsafeArchiveError
from tests.conftest import make_tar


def _tar_with(path, build):
    with tarfile.open(path, "w:gz") as tar:
        build(tar)
    return path


def _file(tar, name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_reads_regular_files_in_order(tmp_path):
    path = make_tar(tmp_path / "ok.tar.gz", {"a/": None, "a/one.txt": b"1", "./a/two.txt": b"22"})
    assert list(archives.iter_files(path)) == [("a/one.txt", b"1"), ("a/two.txt", b"22")]


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt"])
def test_path_traversal_is_refused_and_nothing_is_written(tmp_path, name):
    outside = tmp_path / "evil.txt"
    path = _tar_with(tmp_path / "bad.tar.gz", lambda tar: (_file(tar, "ok.txt"), _file(tar, name)))
    with pytest.raises(UnsafeArchiveError, match="refused"):
        list(archives.iter_files(path))
    assert not outside.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar.gz"]


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_links_and_devices_are_refused(tmp_path, kind):
    def build(tar):
        info = tarfile.TarInfo("link")
        info.type = kind
        info.linkname = "/etc/passwd"
        tar.addfile(info)

    path = _tar_with(tmp_path / "links.tar.gz", build)
    with pytest.raises(UnsafeArchiveError):
        list(archives.iter_files(path))


def test_decompression_bomb_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 1000)
    path = make_tar(tmp_path / "bomb.tar.gz", {"a.txt": b"0" * 600, "b.txt": b"0" * 600})
    with pytest.raises(UnsafeArchiveError, match="inflates"):
        list(archives.iter_files(path))


def test_truncated_archive_is_a_data_error(tmp_path):
    path = make_tar(tmp_path / "ok.tar.gz", {f"f{i}.txt": bytes(range(256)) * 40 for i in range(20)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        list(archives.iter_files(path))
