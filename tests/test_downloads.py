"""Downloads against a real HTTP server on 127.0.0.1 (no other network)."""
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import pytest

from coursekit.downloads import DownloadError, OfflineError, download_url, extract_archive

PAYLOAD = bytes(range(256)) * 4000  # ~1 MB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    files, log, mode = {}, [], {}

    def do_GET(self):
        self.log.append((self.path, self.headers.get("Range")))
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and self.mode.get("ranges", True):
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.mode.pop("drop_once", False):  # promise everything, send half, hang up
            self.wfile.write(body[start:start + (len(body) - start) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.files, Handler.log, Handler.mode = {"/data.bin": PAYLOAD, "/bad.bin": b"not what you wanted"}, [], {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", Handler
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_second_call_is_served_from_cache(server, tmp_path):
    base, handler = server
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert len(handler.log) == 1
    download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert len(handler.log) == 1  # no second request


def test_checksum_mismatch_is_a_clear_error_and_leaves_nothing(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match="Checksum mismatch.*expected"):
        download_url(f"{base}/bad.bin", tmp_path / "bad.bin", sha256=SHA, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_leaves_no_corrupt_file_and_resumes(server, tmp_path):
    base, handler = server
    handler.mode["drop_once"] = True
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="resume"):
        download_url(f"{base}/data.bin", dest, sha256=SHA, progress=False)
    assert not dest.exists()
    part = tmp_path / "data.bin.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)
    download_url(f"{base}/data.bin", dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD and not part.exists()
    assert handler.log[-1][1] == f"bytes={len(PAYLOAD) // 2}-"  # resumed with a Range request


def test_server_without_ranges_restarts_from_zero(server, tmp_path):
    base, handler = server
    handler.mode["ranges"] = False
    (tmp_path / "data.bin.part").write_bytes(b"stale junk")
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_offline_is_a_clear_error_that_mentions_sample_mode(tmp_path):
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OfflineError, match="COURSEKIT_MODE=sample"):
        download_url(f"http://127.0.0.1:{port}/data.bin", tmp_path / "data.bin", progress=False)
    assert not (tmp_path / "data.bin").exists()


def test_mirror_as_a_local_folder_and_as_a_base_url(server, tmp_path, monkeypatch):
    base, handler = server
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "data.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("COURSEKIT_MIRROR", str(mirror))
    dest = download_url("http://example.invalid/x/data.bin", tmp_path / "a.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD and handler.log == []
    monkeypatch.setenv("COURSEKIT_MIRROR", base)
    dest = download_url("http://example.invalid/x/data.bin", tmp_path / "b.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD and handler.log[0][0] == "/data.bin"


def test_progress_is_printed(server, tmp_path, capsys):
    base, _ = server
    download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA)
    assert "data.bin" in capsys.readouterr().out


def make_tgz(path, members):
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def test_extract_tgz_and_zip(tmp_path):
    make_tgz(tmp_path / "a.tgz", {"top/x.txt": b"x", "top/sub/y.txt": b"y"})
    out = extract_archive(tmp_path / "a.tgz", tmp_path / "a")
    assert (out / "top" / "sub" / "y.txt").read_bytes() == b"y"
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as z:
        z.writestr("top/z.txt", "z")
    assert (extract_archive(tmp_path / "b.zip", tmp_path / "b") / "top" / "z.txt").read_text() == "z"


def test_archive_escaping_its_folder_is_refused(tmp_path):
    make_tgz(tmp_path / "evil.tgz", {"../evil.txt": b"gotcha"})
    with pytest.raises(DownloadError, match="outside"):
        extract_archive(tmp_path / "evil.tgz", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out").exists()
