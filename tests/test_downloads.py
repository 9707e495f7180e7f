"""Downloads against a real HTTP server on 127.0.0.1 (no other network)."""

import hashlib
import http.server
import io
import socket
import threading

import pytest

from coursekit import downloads
from coursekit.archives import list_archive
from coursekit.download_progress import Progress
from coursekit.downloads import DownloadError, OfflineError, download_url, file_hash

PAYLOAD = bytes(range(256)) * 4000  # ~1 MB
SHA = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``files``; ``mode`` switches on misbehaviour: no ranges, dropping connections."""

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
            if self.mode.get("bad_206"):  # a cache or proxy that answers a range with other bytes
                body = b"?" * len(body)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.mode.get("drops", 0) > 0:  # promise everything, send half, hang up
            self.mode["drops"] -= 1
            self.wfile.write(body[start : start + (len(body) - start) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.files = {"/data.bin": PAYLOAD, "/bad.bin": b"not what you wanted"}
    Handler.log, Handler.mode = [], {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", Handler
    httpd.shutdown()
    httpd.server_close()


def closed_port():
    """A port on 127.0.0.1 that nobody listens on: stands in for 'no network'."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_verifies_and_second_call_is_served_from_cache(server, tmp_path):
    base, handler = server
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert len(handler.log) == 1
    download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert len(handler.log) == 1  # no second request
    assert list(tmp_path.iterdir()) == [dest]


def test_md5_and_size_are_checked_too(server, tmp_path):
    base, _ = server
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin", md5=MD5, size=len(PAYLOAD), progress=False)
    assert file_hash(dest, "md5") == MD5
    with pytest.raises(DownloadError, match="expected size"):
        download_url(f"{base}/bad.bin", tmp_path / "bad.bin", size=len(PAYLOAD), progress=False)


def test_checksum_mismatch_is_a_clear_error_and_leaves_nothing(server, tmp_path):
    base, _ = server
    with pytest.raises(DownloadError, match=f"Checksum mismatch for {base}/bad.bin: expected sha256 {SHA}") as e:
        download_url(f"{base}/bad.bin", tmp_path / "bad.bin", sha256=SHA, progress=False)
    assert hashlib.sha256(b"not what you wanted").hexdigest() in str(e.value)
    assert list(tmp_path.iterdir()) == []  # neither dest nor .part


def test_interrupted_transfer_leaves_no_corrupt_file_and_next_call_resumes(server, tmp_path):
    base, handler = server
    handler.mode["drops"] = 1
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="resume"):
        download_url(f"{base}/data.bin", dest, sha256=SHA, progress=False, retries=0)
    assert not dest.exists()
    part = tmp_path / "data.bin.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)
    download_url(f"{base}/data.bin", dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD and not part.exists()
    assert handler.log[-1][1] == f"bytes={len(PAYLOAD) // 2}-"  # resumed with a Range request


def test_interrupted_old_good_file_stays_in_place(server, tmp_path):
    base, handler = server
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"the old good file")
    handler.mode["drops"] = 1
    with pytest.raises(DownloadError):
        download_url(f"{base}/data.bin", dest, sha256=SHA, progress=False, retries=0)
    assert dest.read_bytes() == b"the old good file"


def test_broken_transfers_are_resumed_within_one_call(server, tmp_path, monkeypatch):
    base, handler = server
    monkeypatch.setattr(downloads, "RETRY_WAIT", 0.0)
    handler.mode["drops"] = 2
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert [rng for _, rng in handler.log] == [None, f"bytes={len(PAYLOAD) // 2}-", f"bytes={len(PAYLOAD) * 3 // 4}-"]


def test_server_without_ranges_restarts_from_zero(server, tmp_path):
    base, handler = server
    handler.mode["ranges"] = False
    (tmp_path / "data.bin.part").write_bytes(b"stale junk")
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_stale_part_that_resumes_into_a_bad_file_is_fetched_again_whole(server, tmp_path):
    base, handler = server
    (tmp_path / "data.bin.part").write_bytes(b"x" * 1000)  # from some other version of the file
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert [rng for _, rng in handler.log] == ["bytes=1000-", None]


def test_without_a_checksum_a_part_from_an_earlier_call_is_not_resumed(server, tmp_path, capsys):
    base, handler = server
    (tmp_path / "data.bin.part").write_bytes(b"x" * 1000)  # from some other version of the file
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin")
    assert dest.read_bytes() == PAYLOAD  # not 1000 unknown bytes with the rest spliced on
    assert [rng for _, rng in handler.log] == [None]
    assert (
        "data.bin.part: no checksum would prove a resumed file, so the download starts from zero."
        in capsys.readouterr().out
    )


def test_without_a_checksum_a_transfer_that_breaks_off_says_the_next_call_starts_over(server, tmp_path):
    base, handler = server
    handler.mode["drops"] = 1
    with pytest.raises(DownloadError, match="call again to download it from the start") as e:
        download_url(f"{base}/data.bin", tmp_path / "data.bin", progress=False, retries=0)
    assert "resume" not in str(e.value)


def test_without_a_checksum_a_broken_transfer_is_not_resumed_with_bytes_that_cannot_be_proved(
    server, tmp_path, monkeypatch, capsys
):
    base, handler = server
    monkeypatch.setattr(downloads, "RETRY_WAIT", 0.0)
    handler.mode.update(drops=1, bad_206=True)  # half the file, then a 206 whose bytes are not the file's
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin")
    assert dest.read_bytes() == PAYLOAD  # not half the file with junk spliced on
    assert [rng for _, rng in handler.log] == [None, None]  # the retry asked for the whole file again
    assert (
        "Starting again from zero (no checksum would prove a resumed file) (attempt 2 of 4)." in capsys.readouterr().out
    )


def test_force_downloads_again_and_keeps_the_cached_file_until_the_new_one_is_good(server, tmp_path):
    base, handler = server
    dest = download_url(f"{base}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    download_url(f"{base}/data.bin", dest, sha256=SHA, progress=False, force=True)
    assert len(handler.log) == 2 and dest.read_bytes() == PAYLOAD
    with pytest.raises(OfflineError):
        download_url(f"http://127.0.0.1:{closed_port()}/data.bin", dest, sha256=SHA, progress=False, force=True)
    assert dest.read_bytes() == PAYLOAD


def test_a_download_that_fails_its_check_is_deleted_not_cached(server, tmp_path, capsys):
    base, _ = server
    with pytest.raises(
        DownloadError,
        match=f"The download of {base}/bad.bin is unusable: .*neither a zip nor a tar "
        "archive: it begins with 'not what you wanted'",
    ) as e:
        download_url(f"{base}/bad.bin", tmp_path / "bad.tgz", check=list_archive)
    assert "It was deleted, nothing was cached. Call again" in str(e.value)
    assert str(tmp_path / "bad.tgz") in str(e.value)  # where a good copy may be put by hand
    assert list(tmp_path.iterdir()) == []
    capsys.readouterr()


def test_offline_is_a_clear_error_that_mentions_sample_mode(tmp_path):
    dest = tmp_path / "data.bin"
    with pytest.raises(OfflineError, match="COURSEKIT_MODE=sample") as e:
        download_url(f"http://127.0.0.1:{closed_port()}/data.bin", dest, progress=False)
    assert "mode = 'sample'" in str(e.value) and str(dest) in str(e.value) and "COURSEKIT_MIRROR" in str(e.value)
    assert not dest.exists()


def test_mirror_as_a_local_folder_and_as_a_base_url(server, tmp_path, monkeypatch):
    base, handler = server
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "data.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("COURSEKIT_MIRROR", str(mirror))
    dest = download_url("http://example.invalid/x/data.bin", tmp_path / "a.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD and handler.log == []
    with pytest.raises(DownloadError, match="Checksum mismatch"):  # a mirror is verified like any source
        download_url("http://example.invalid/x/data.bin", tmp_path / "c.bin", sha256="0" * 64, progress=False)
    assert not (tmp_path / "c.bin").exists() and not (tmp_path / "c.bin.part").exists()
    monkeypatch.setenv("COURSEKIT_MIRROR", base)
    dest = download_url("http://example.invalid/x/data.bin", tmp_path / "b.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD and handler.log == [("/data.bin", None)]


def test_no_checksum_prints_the_sha256_to_pin(server, tmp_path, capsys):
    base, _ = server
    download_url(f"{base}/data.bin", tmp_path / "data.bin")
    out = capsys.readouterr().out
    assert "data.bin" in out and SHA in out


def test_progress_in_a_log_is_a_handful_of_lines():
    out = io.StringIO()
    bar = Progress("big.tgz", 10_000)
    bar.out, bar.tty = out, False
    for done in range(0, 10_001, 10):
        bar.update(done)
    bar.update(10_000, final=True)
    lines = out.getvalue().splitlines()
    assert 3 <= len(lines) <= 6 and "big.tgz" in lines[-1]
