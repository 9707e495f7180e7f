import pytest
import torch
from torchvision.transforms import v2 as T

from coursekit.vision import images, transforms


@pytest.fixture
def img(sample):
    return images.load_image(next((sample / "train" / "cats").glob("*.jpg")))


def test_transforms_give_the_size_asked_in_zero_one(img):
    for tfm in (transforms.train_tfms(50, "side_on"), transforms.train_tfms(50, "top_down"), transforms.valid_tfms(50)):
        x = tfm(img)
        assert x.shape == (3, 50, 50) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1


def test_validation_transforms_are_deterministic_training_ones_are_not(img):
    valid = transforms.valid_tfms(40)
    assert torch.equal(valid(img), valid(img))
    train = transforms.train_tfms(40)
    torch.manual_seed(0)
    assert not all(torch.equal(train(img), train(img)) for _ in range(3))


def test_top_down_adds_vertical_flips_and_right_angles():
    kinds = lambda tfm: {type(t) for t in tfm.transforms}
    side_on, top_down = kinds(transforms.train_tfms(32, "side_on")), kinds(transforms.train_tfms(32, "top_down"))
    assert T.RandomHorizontalFlip in side_on and T.RandomVerticalFlip not in side_on
    assert {T.RandomVerticalFlip, T.RandomChoice} <= top_down
    with pytest.raises(ValueError, match="side_on.*top_down"):
        transforms.train_tfms(32, "sideways")


def test_tfms_for_picks_presets_or_passes_a_pair_through():
    train, valid = transforms.tfms_for(None, 24)  # no augmentation: validation transforms for both
    assert (
        transforms.describe_tfms(train)
        == transforms.describe_tfms(valid)
        == "Resize -> CenterCrop -> ToImage -> ToDtype"
    )
    pair = (transforms.valid_tfms(8), transforms.valid_tfms(8))
    assert transforms.tfms_for(pair, 24) == pair
    assert transforms.describe_tfms(transforms.tfms_for("side_on", 24)[0]).startswith("RandomResizedCrop")
