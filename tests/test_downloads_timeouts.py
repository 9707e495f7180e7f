"""A server that is reached but does not answer, or stops sending, is a timeout, not "cannot reach"; the
servers here run in threads on 127.0.0.1 and are stopped (threads joined) after each test."""

import hashlib
import socket
import threading
import time

import pytest

from coursekit import downloads
from coursekit.downloads import DownloadError, OfflineError, download_url

PAYLOAD = bytes(range(256)) * 40
SHA = hashlib.sha256(PAYLOAD).hexdigest()
SENT = 100  # bytes the stalling server sends before it goes quiet


class Server:
    """Accepts connections on 127.0.0.1; ``answer(server, conn, request)`` runs in a thread per connection.

    ``stop()`` wakes every waiting answer, closes the connections and joins all the threads.
    """

    def __init__(self, answer):
        self.answer, self.stop_event, self.conns, self.threads = answer, threading.Event(), [], []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.02)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.host = self.url.split("//")[1]
        self.threads.append(threading.Thread(target=self.accept, daemon=True))
        self.threads[0].start()

    def accept(self):
        while not self.stop_event.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.conns.append(conn)
            self.threads.append(threading.Thread(target=self.handle, args=(conn, len(self.conns)), daemon=True))
            self.threads[-1].start()

    def handle(self, conn, n):
        conn.settimeout(5)
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096) or b"\r\n\r\n"
        self.answer(self, conn, request.decode("latin-1"), n)

    def stop(self):
        self.stop_event.set()
        self.threads[0].join(timeout=5)  # the accepting thread first: then no new handler starts
        for thread in self.threads[1:]:
            thread.join(timeout=5)
        for conn in self.conns:
            conn.close()
        self.sock.close()
        assert not any(thread.is_alive() for thread in self.threads)


@pytest.fixture
def serve():
    servers = []
    yield lambda answer: servers.append(Server(answer)) or servers[-1]
    for server in servers:
        server.stop()


def silent(server, conn, request, n):
    """Never answers (until the test ends)."""
    server.stop_event.wait()


def stalls_once(server, conn, request, n):
    """The first connection: headers and ``SENT`` bytes, then silence. Later ones: the rest, honouring Range."""
    if n == 1:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(PAYLOAD)}\r\n\r\n".encode() + PAYLOAD[:SENT])
        server.stop_event.wait()
        return
    start = int(request.split("Range: bytes=")[1].split("-")[0]) if "Range: bytes=" in request else 0
    head = f"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}\r\n"
    head += f"Content-Length: {len(PAYLOAD) - start}\r\nConnection: close\r\n\r\n"
    conn.sendall(head.encode() + PAYLOAD[start:])
    conn.close()


def trickles(server, conn, request, n):
    """Promises the whole file, then sends one byte every 0.1 s: never quiet for a whole ``timeout``."""
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(PAYLOAD)}\r\n\r\n".encode())
    for i in range(100):  # 10 s at most, far past the deadline of the test
        if server.stop_event.wait(0.1):
            return
        try:
            conn.sendall(PAYLOAD[i : i + 1])
        except OSError:  # the client gave up and closed the connection
            return


@pytest.mark.parametrize("checksum", [True, False])
def test_a_server_that_trickles_runs_into_the_deadline_not_past_it(serve, tmp_path, checksum):
    server = serve(trickles)
    dest, part = tmp_path / "data.bin", tmp_path / "data.bin.part"
    start = time.monotonic()
    with pytest.raises(downloads.DownloadTimeout) as e:
        download_url(
            f"{server.url}/data.bin", dest, sha256=SHA if checksum else None, progress=False, timeout=0.5, deadline=1
        )
    assert 1 <= time.monotonic() - start < 2.5  # the timeout (per wait) alone would never end it
    message = str(e.value)
    assert message.startswith(f"The download of {server.url}/data.bin did not finish within deadline=1 s: ")
    assert f" B of {len(PAYLOAD) / 1024:.1f} KB came (" in message and "pass a larger deadline" in message
    if checksum:
        assert f"what came is kept in {part} to resume." in message and 5 <= part.stat().st_size <= 15
    else:
        assert "without a checksum the next call starts from zero." in message
    assert not dest.exists() and len(server.conns) == 1  # a deadline is not retried


def test_a_server_that_accepts_but_never_answers_is_a_timeout_not_offline(serve, tmp_path):
    server = serve(silent)
    start = time.monotonic()
    with pytest.raises(downloads.DownloadTimeout) as e:
        download_url(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False, timeout=0.5)
    assert time.monotonic() - start < 3  # one wait, not one per retry
    assert not isinstance(e.value, OfflineError)
    assert str(e.value).startswith(
        f"{server.host} accepted the connection but sent no answer within 0.5 s "
        f"(downloading {server.url}/data.bin). The network is up"
    )
    assert "COURSEKIT_MIRROR" in str(e.value) and list(tmp_path.iterdir()) == []


def test_a_transfer_that_stalls_times_out_and_keeps_the_part_to_resume(serve, tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "RETRY_WAIT", 0.0)
    server = serve(stalls_once)
    dest, part = tmp_path / "data.bin", tmp_path / "data.bin.part"
    start = time.monotonic()
    with pytest.raises(downloads.DownloadTimeout) as e:
        download_url(f"{server.url}/data.bin", dest, sha256=SHA, progress=False, timeout=0.5, retries=0)
    assert time.monotonic() - start < 3
    assert str(e.value) == (
        f"The download of {server.url}/data.bin stalled: {server.host} sent nothing "
        f"for 0.5 s after {SENT} B. Gave up after 1 attempt; call again to resume from {part}."
    )
    assert part.read_bytes() == PAYLOAD[:SENT] and not dest.exists()  # what came is kept
    assert download_url(f"{server.url}/data.bin", dest, sha256=SHA, progress=False, timeout=0.5) == dest
    assert dest.read_bytes() == PAYLOAD and not part.exists()


def test_a_stall_within_the_retries_is_resumed_in_the_same_call(serve, tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "RETRY_WAIT", 0.0)
    server = serve(stalls_once)
    dest = download_url(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False, timeout=0.5)
    assert dest.read_bytes() == PAYLOAD and len(server.conns) == 2


def test_a_refused_connection_is_still_cannot_reach(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OfflineError, match="Cannot reach 127.0.0.1") as e:
        download_url(f"http://127.0.0.1:{port}/data.bin", tmp_path / "data.bin", progress=False, timeout=0.5)
    assert not isinstance(e.value, downloads.DownloadTimeout) and isinstance(e.value, DownloadError)
