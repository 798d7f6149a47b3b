import functools
import http.server
import threading

import pytest

from rnncli.data import fetch
from rnncli.errors import DownloadError
from rnncli.progress import NullReporter


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
    assert [p.name for p in path.parent.iterdir()] == ["c.tar.gz"]
