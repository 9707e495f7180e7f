"""Small data for the vision lessons 2, 12 and 12b: the nearest real data where no small version of the lesson's
own dataset exists (coco_tiny read as multi-label for Planet, mnist_tiny for CIFAR-10). Offline: a folder laid out
like ../shared/data in tmp_path. (Lesson 2's notebook does not run in small mode yet: only its data is here.)"""

import json

import pytest
import torch

from coursekit import datasets, small
from coursekit.small_builders import coco_tags_csv


@pytest.fixture
def shared(data, tmp_path, monkeypatch):
    """No GPU, an empty cache, and an empty folder named by COURSEKIT_SMALL_DATA (laid out like ../shared/data)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    root = tmp_path / "shared"
    root.mkdir()
    monkeypatch.setenv(small.ENV, str(root))
    return root


def coco_folder(root):
    """A coco_tiny look-alike: train.json with 2 classes and 4 images (one with no box), and the photos."""
    (root / "coco_tiny" / "train").mkdir(parents=True)
    meta = {
        "categories": [{"id": 62, "name": "chair"}, {"id": 84, "name": "book"}],
        "images": [{"id": i, "file_name": f"{i:012d}.jpg"} for i in (5, 3, 9, 7)],
        "annotations": [{"image_id": 5, "category_id": 84}, {"image_id": 5, "category_id": 62},
                        {"image_id": 5, "category_id": 84}, {"image_id": 3, "category_id": 62},
                        {"image_id": 9, "category_id": 84}],
    }  # fmt: skip
    (root / "coco_tiny" / "train.json").write_text(json.dumps(meta))
    for i in (5, 3, 9, 7):
        (root / "coco_tiny" / "train" / f"{i:012d}.jpg").write_bytes(f"photo {i}".encode())
    return root / "coco_tiny"


def test_lesson_two_reads_coco_tiny_as_planets_table_of_tags(data, shared):
    assert datasets.get_mode("auto", "planet") == "sample"  # coco_tiny not here yet
    coco_folder(shared)
    assert datasets.get_mode("auto", "planet") == "small"
    path = datasets.get_data("planet", mode="small")
    files = datasets.layout("planet", "small")
    assert path == data / "small" / "planet" and set(files) == set(datasets.layout("planet", "sample"))
    rows = (path / files["labels"]).read_text().splitlines()
    # one row per image with a box, its tags sorted and each once; the image with no box (7) is left out; the
    # names keep their leading zeros (the notebook reads them as text)
    assert rows == ["image_name,tags", "000000000003,chair", "000000000005,book chair", "000000000009,book"]
    assert (path / files["images"] / "000000000009.jpg").read_bytes() == b"photo 9"
    assert not (path / files["images"] / "000000000007.jpg").exists()


def test_a_coco_folder_without_its_json_or_with_another_json_says_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="coco_tiny folder"):
        coco_tags_csv(tmp_path, tmp_path / "out")
    (tmp_path / "train.json").write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(ValueError, match="missing key 'categories'"):
        coco_tags_csv(tmp_path, tmp_path / "out")


def test_lessons_twelve_read_mnist_tiny_as_it_is_with_its_valid_folder(shared):
    for split in ("train", "valid"):
        (shared / "mnist_tiny" / split / "3").mkdir(parents=True)
    assert datasets.get_mode("auto", "cifar10") == "small"
    assert datasets.get_data("cifar10", mode="small") == shared / "mnist_tiny"  # read as it is, nothing built
    files = datasets.layout("cifar10", "small")
    assert files["valid"] == "valid" and datasets.layout("cifar10", "sample")["valid"] == "test"
    assert set(files) == set(datasets.layout("cifar10", "sample"))
