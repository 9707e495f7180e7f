"""The generated CIFAR-10 look-alike and its loaders (random crop with padding, flips, bad input)."""

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from coursekit.samples.cifar import CLASSES, draw_image, make_cifar_sample
from coursekit.vision.cifar import cifar_dls, pad_crop_flip_tfms


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    path = tmp_path_factory.mktemp("cifar")
    return make_cifar_sample(path, seed=0, n_train=3, n_test=2)


def test_the_sample_has_fast_ais_cifar10_layout(cifar):
    assert (cifar / "labels.txt").read_text().split() == CLASSES
    for split, n in (("train", 3), ("test", 2)):
        assert sorted(p.name for p in (cifar / split).iterdir()) == sorted(CLASSES)
        for c in CLASSES:
            files = list((cifar / split / c).glob("*.png"))
            assert len(files) == n
            with Image.open(files[0]) as img:
                assert img.size == (32, 32) and img.mode == "RGB"


def test_the_sample_is_the_same_for_a_seed_and_varies_within_a_class():
    a = [np.asarray(draw_image(np.random.default_rng(5), "ring")) for _ in range(2)]
    assert np.array_equal(a[0], a[1])
    rng = np.random.default_rng(0)
    rings = np.stack([np.asarray(draw_image(rng, "ring"), dtype=np.float32) for _ in range(20)])
    assert rings.std(axis=0).mean() > 30  # colours, places and sizes differ from image to image
    means = [np.asarray(draw_image(rng, c), dtype=np.float32).mean() for c in CLASSES for _ in range(5)]
    assert np.std(means) > 10  # no class is one flat colour


def test_loaders_read_train_and_test_and_crop_with_padding_and_flips(cifar):
    dls = cifar_dls(cifar, bs=8)
    assert dls.classes == sorted(CLASSES) and len(dls.train_ds) == 30 and len(dls.valid_ds) == 20
    x, y = next(iter(dls.train))
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    train_tf, valid_tf = pad_crop_flip_tfms(32)
    names = [type(t).__name__ for t in train_tf.transforms]
    assert "RandomCrop" in names and "RandomHorizontalFlip" in names
    crop = next(t for t in train_tf.transforms if type(t).__name__ == "RandomCrop")
    assert crop.padding == [4, 4, 4, 4] and crop.padding_mode == "reflect"
    assert "RandomCrop" not in [type(t).__name__ for t in valid_tf.transforms]


def test_an_image_of_another_size_or_mode_is_resized_and_made_rgb(cifar, tmp_path):
    path = tmp_path / "c"
    shutil.copytree(cifar, path)
    Image.new("L", (28, 20), 128).save(path / "train" / "ring" / "grey_small.png")
    Image.new("RGBA", (64, 64), (10, 20, 30, 255)).save(path / "test" / "disc" / "big_rgba.png")
    dls = cifar_dls(path, bs=64)
    for dl in (dls.train, dls.valid):
        x, _ = next(iter(dl))
        assert x.shape[1:] == (3, 32, 32)


def test_an_empty_class_folder_is_a_clear_error_naming_it(cifar, tmp_path):
    path = tmp_path / "c"
    shutil.copytree(cifar, path)
    for f in (path / "test" / "cross").iterdir():
        f.unlink()
    with pytest.raises(ValueError, match=r"class folder .*test/cross holds no images"):
        cifar_dls(path)


def test_labels_txt_that_disagrees_with_the_folders_is_a_clear_error(cifar, tmp_path):
    path = tmp_path / "c"
    shutil.copytree(cifar, path)
    (path / "labels.txt").write_text("cat\ndog\n")
    with pytest.raises(ValueError, match="labels.txt names the classes"):
        cifar_dls(path)
