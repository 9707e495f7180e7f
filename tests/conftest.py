"""Shared fixtures: a tiny synthetic learner that trains in milliseconds on the CPU, and a local HTTP server."""

import http.server
import os
import threading
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from coursekit.core import seed_everything
from coursekit.data import make_loaders
from coursekit.learner import Learner

REPO = Path(__file__).resolve().parents[1]


def shared_data():
    """The folder of real sample datasets (``COURSEKIT_SHARED_DATA``, default ``../shared/data``)."""
    return Path(os.environ.get("COURSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def need_shared(name):
    """Path of ``shared/data/<name>``, or skip the test with the reason."""
    path = shared_data() / name
    if not path.exists():
        pytest.skip(f"real data {path} is absent (set COURSEKIT_SHARED_DATA to the shared/data folder)")
    return path


class TinyNet(nn.Sequential):
    """Two-layer classifier with two layer groups, like a body and a head."""

    def __init__(self, n_in=4, n_out=3):
        super().__init__(nn.Sequential(nn.Linear(n_in, 16), nn.BatchNorm1d(16), nn.ReLU()), nn.Linear(16, n_out))

    def layer_groups(self):
        return [self[0], self[1]]


def synthetic_dls(n=256, n_in=4, n_out=3, bs=32, seed=0):
    """Points whose class is the arg-max of a fixed linear map: easy to learn, not trivial."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n_in, n_out, generator=g)
    x = torch.randn(n, n_in, generator=g)
    y = (x @ w).argmax(dim=1)
    split = int(n * 0.8)
    return make_loaders(TensorDataset(x[:split], y[:split]), TensorDataset(x[split:], y[split:]), bs=bs, seed=seed)


@pytest.fixture
def synth_learner(tmp_path):
    """Factory for a fresh seeded synthetic learner (``synth_learner(bs=32, **learner_kwargs)``)."""

    def make(bs=32, **kwargs):
        seed_everything(0)
        kwargs.setdefault("lr", 1e-2)
        kwargs.setdefault("path", tmp_path)
        kwargs.setdefault("device", "cpu")
        return Learner(TinyNet(), synthetic_dls(bs=bs), nn.CrossEntropyLoss(), **kwargs)

    return make


@pytest.fixture
def one_thread():
    """Small models gain nothing from threads, and two threads on a busy 2-core machine can be 10x slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def data(monkeypatch, tmp_path):
    """An empty data cache, and no mode or mirror from the environment (child processes inherit these)."""
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("COURSEKIT_MODE", raising=False)
    monkeypatch.delenv("COURSEKIT_MIRROR", raising=False)
    return tmp_path / "data"


@pytest.fixture
def server():
    """Serves ``files`` on 127.0.0.1 and logs the paths asked for."""
    files, log = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            log.append(self.path)
            body = files[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", files, log
    httpd.shutdown()
    httpd.server_close()
