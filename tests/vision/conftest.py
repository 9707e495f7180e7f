"""The image tests' shared fixture: a tiny cartoon dogscats sample, made once per test session."""

import pytest

from coursekit.samples.cartoons import make_dogscats_sample


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """``train/{cats,dogs}`` with 8 images each and ``valid/{cats,dogs}`` with 4 (read-only: copy to change)."""
    path = tmp_path_factory.mktemp("dogscats")
    make_dogscats_sample(path, seed=0, n_train=8, n_valid=4)
    return path
