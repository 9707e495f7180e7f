import random

import numpy as np
import pytest
import torch

from coursekit.core import check_path, ema, listify, seed_everything, to_cpu, to_device


def draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_seed_everything_repeats_python_numpy_and_torch():
    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first
    seed_everything(8)
    assert draw() != first


def test_to_device_and_to_cpu_walk_nested_collections():
    x = torch.ones(2, requires_grad=True) * 2  # not a leaf: to_cpu must detach it
    batch = {"a": [x, (torch.zeros(1), "name")], "b": 3}
    moved = to_device(batch, torch.device("cpu"))
    assert isinstance(moved["a"], list) and isinstance(moved["a"][1], tuple)
    assert torch.equal(moved["a"][0], x) and moved["a"][1][1] == "name" and moved["b"] == 3
    back = to_cpu(batch)
    assert not back["a"][0].requires_grad and back["a"][0].device.type == "cpu"
    assert type(back["a"][1]) is tuple and back["a"][1][1] == "name"


def test_listify():
    assert listify(None) == [] and listify(3) == [3] and listify((1, 2)) == [1, 2] and listify([4]) == [4]
    assert listify("abc") == ["abc"]  # a string is one thing, not a sequence of letters


def test_check_path_names_the_missing_path_and_what_to_do(tmp_path):
    assert check_path(tmp_path) == tmp_path
    with pytest.raises(FileNotFoundError, match=r"The labels file .*nope\.csv does not exist.*get_data"):
        check_path(tmp_path / "nope.csv", "labels file")


def test_ema_is_bias_corrected_and_smooths():
    assert ema([]) == []
    assert ema([5.0, 5.0, 5.0]) == pytest.approx([5.0, 5.0, 5.0])  # no pull towards the zero start
    assert ema([1.0, 3.0], beta=0.5) == pytest.approx([1.0, (0.25 * 1 + 0.5 * 3) / 0.75])
    noisy = [1.0 + (-1) ** i for i in range(200)]
    assert max(ema(noisy)[100:]) - min(ema(noisy)[100:]) < 0.1


def test_check_path_says_a_file_is_not_a_folder_and_a_folder_is_not_a_file(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("a,b\n")
    assert check_path(csv, kind="file") == csv and check_path(tmp_path, kind="folder") == tmp_path
    with pytest.raises(
        NotADirectoryError,
        match=r"The data folder .*labels\.csv is a file, but a folder is expected "
        r"here\. Pass the folder that holds it",
    ):
        check_path(csv, kind="folder")
    with pytest.raises(IsADirectoryError, match=r"The labels file .* is a folder, but a file is expected"):
        check_path(tmp_path, "labels file", kind="file")
    with pytest.raises(
        FileNotFoundError, match=r"labels\.csv/train does not exist \(.*labels\.csv is a file, not a folder\)"
    ):
        check_path(csv / "train", "training folder")
