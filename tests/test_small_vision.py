"""Small mode for the vision lessons 12 and 12b: the nearest real data where no small version of the lesson's
own dataset exists (mnist_tiny for CIFAR-10). Offline: a folder laid out
like ../shared/data in tmp_path."""

import pytest
import torch

from coursekit import datasets, small


@pytest.fixture
def shared(data, tmp_path, monkeypatch):
    """No GPU, an empty cache, and an empty folder named by COURSEKIT_SMALL_DATA (laid out like ../shared/data)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    root = tmp_path / "shared"
    root.mkdir()
    monkeypatch.setenv(small.ENV, str(root))
    return root


def test_lessons_twelve_read_mnist_tiny_as_it_is_with_its_valid_folder(shared):
    for split in ("train", "valid"):
        (shared / "mnist_tiny" / split / "3").mkdir(parents=True)
    assert datasets.get_mode("auto", "cifar10") == "small"
    assert datasets.get_data("cifar10", mode="small") == shared / "mnist_tiny"  # read as it is, nothing built
    files = datasets.layout("cifar10", "small")
    assert files["valid"] == "valid" and datasets.layout("cifar10", "sample")["valid"] == "test"
    assert set(files) == set(datasets.layout("cifar10", "sample"))
