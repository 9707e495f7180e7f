"""Fixtures shared by the text tests."""
import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from threads, and two threads on a busy 2-core machine can be 10x slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
