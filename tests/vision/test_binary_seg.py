"""Binary masks from GIFs, Dice, the Dice-plus-BCE loss, and the Carvana-layout loader."""

import numpy as np
import pytest
import torch
from PIL import Image

from coursekit.vision import binary_seg
from coursekit.vision.segmentation import MaskError


def write_pair(folder, name, size=(12, 8), mask_size=None, box=(2, 2, 6, 5), images="train", masks="train_masks"):
    (folder / images).mkdir(parents=True, exist_ok=True)
    (folder / masks).mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 120, 200)).save(folder / images / f"{name}.jpg")
    w, h = mask_size or size
    arr = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = box
    arr[y0:y1, x0:x1] = 1
    m = Image.fromarray(arr, "L").convert("P")
    m.putpalette([0, 0, 0, 255, 255, 255] + [0, 0, 0] * 254)
    m.save(folder / masks / f"{name}_mask.gif", "GIF")
    return arr


def test_dice_matches_hand_worked_values():
    # prediction covers 3 pixels, truth 2, overlap 1: Dice = 2*1 / (3+2) = 0.4
    logits = torch.tensor([[[[5.0, 5.0, 5.0, -5.0]]]])
    truth = torch.tensor([[[[0.0, 0.0, 1.0, 1.0]]]])
    assert binary_seg.dice_score(logits, truth).item() == pytest.approx(0.4)
    assert binary_seg.Dice()(logits, truth).item() == pytest.approx(0.4)
    # perfect, disjoint, and both empty
    assert binary_seg.dice_score(truth * 10 - 5, truth).item() == pytest.approx(1.0)
    assert binary_seg.dice_score(5 - truth * 10, truth).item() == pytest.approx(0.0)
    assert binary_seg.dice_score(-torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item() == 1.0


def test_streaming_dice_pools_counts_over_batches():
    d = binary_seg.Dice()
    d.reset()
    d.accumulate(torch.tensor([[[[1.0, 1.0]]]]), torch.tensor([[[[1.0, 0.0]]]]))  # inter 1, sizes 2 + 1
    d.accumulate(torch.tensor([[[[-1.0, 1.0]]]]), torch.tensor([[[[1.0, 1.0]]]]))  # inter 1, sizes 1 + 2
    assert d.value == pytest.approx(2 * 2 / 6)


def test_dice_bce_loss_is_bce_plus_soft_dice_and_falls_when_right():
    truth = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    good, bad = truth * 8 - 4, 4 - truth * 8
    loss = binary_seg.DiceBCELoss()
    assert loss(good, truth) < 0.1 < loss(bad, truth)
    zero = torch.zeros_like(truth)  # p = 0.5 everywhere: BCE = ln 2, soft Dice = 1 - (2*1 + 1)/(2 + 2 + 1)
    assert loss(zero, truth).item() == pytest.approx(np.log(2) + 1 - 3 / 5, abs=1e-6)


def test_gif_masks_are_read_as_zero_one(tmp_path):
    arr = write_pair(tmp_path, "0cdf5b5d0ce1_01")
    mask = binary_seg.load_binary_mask(tmp_path / "train_masks" / "0cdf5b5d0ce1_01_mask.gif", size=(12, 8))
    assert mask.dtype == np.uint8 and mask.shape == (8, 12)
    assert (mask == arr).all() and mask.sum() == 12


def test_trimap_values_pick_the_positive_class(tmp_path):
    tri = np.array([[1, 2], [3, 2]], np.uint8)
    Image.fromarray(tri, "L").save(tmp_path / "t.png")
    assert binary_seg.load_binary_mask(tmp_path / "t.png", positive=(1, 3)).tolist() == [[1, 0], [1, 0]]


def test_a_mask_of_another_size_is_an_error_naming_the_file(tmp_path):
    write_pair(tmp_path, "0cdf5b5d0ce1_01")
    write_pair(tmp_path, "0cdf5b5d0ce1_02", mask_size=(10, 8))
    with pytest.raises(MaskError, match=r"0cdf5b5d0ce1_02_mask\.gif is 10x8 but its image"):
        binary_seg.binary_items(tmp_path)
    with pytest.raises(MaskError, match=r"0cdf5b5d0ce1_02_mask\.gif"):
        binary_seg.load_binary_mask(tmp_path / "train_masks" / "0cdf5b5d0ce1_02_mask.gif", size=(12, 8))


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated"])
def test_an_unreadable_mask_is_a_mask_error_naming_the_file(tmp_path, damage):
    for car in range(3):
        write_pair(tmp_path, f"{car:012x}_01", size=(24, 16))
    mask = tmp_path / "train_masks" / "000000000001_01_mask.gif"
    data = {"garbage": b"not a GIF", "empty": b"", "truncated": mask.read_bytes()[:40]}[damage]
    mask.write_bytes(data)
    named = r"Cannot read mask .*000000000001_01_mask\.gif .*replace it with the image's mask"
    if damage != "truncated":  # the header check finds it when the loaders are built (before: PIL's own error)
        with pytest.raises(
            MaskError, match=r"Cannot read mask .*000000000001_01_mask\.gif \(the mask of 000000000001_01"
        ):
            binary_seg.binary_dls(tmp_path, size=8, bs=2, valid_pct=0.4)
    else:  # a good header with its pixels cut off: found when the pair is read
        dls = binary_seg.binary_dls(tmp_path, size=8, bs=2, valid_pct=0.4)
        with pytest.raises(MaskError, match=named):
            [dls.train_ds[i] for i in range(len(dls.train_ds))] + [dls.valid_ds[i] for i in range(len(dls.valid_ds))]
    with pytest.raises(MaskError, match=named):
        binary_seg.load_binary_mask(mask, size=(24, 16))


def test_a_missing_mask_is_named(tmp_path):
    write_pair(tmp_path, "0cdf5b5d0ce1_01")
    (tmp_path / "train_masks" / "0cdf5b5d0ce1_01_mask.gif").unlink()
    with pytest.raises(FileNotFoundError, match="0cdf5b5d0ce1_01_mask.gif"):
        binary_seg.binary_items(tmp_path)


def test_the_split_keeps_every_photo_of_a_car_on_one_side(tmp_path):
    items = [tmp_path / f"{car:012x}_{v:02d}.jpg" for car in range(10) for v in range(1, 5)]
    train, valid = binary_seg.split_by_group(items, 0.2, seed=0)
    assert len(valid) == 8 and sorted(train + valid) == list(range(40))
    assert not {binary_seg.group_of(items[i]) for i in train} & {binary_seg.group_of(items[i]) for i in valid}
    assert binary_seg.group_of("Abyssinian_100.jpg") == "Abyssinian_100"  # not a Carvana name: its own group


def test_loaders_give_float_masks_at_each_size(tmp_path):
    for car in range(5):
        write_pair(tmp_path, f"{car:012x}_01", size=(24, 16), box=(4, 4, 16, 12))
    for size in [(8, 12), (16, 24)]:  # progressive resizing: the same data at a bigger size
        dls = binary_seg.binary_dls(tmp_path, size=size, bs=2, valid_pct=0.4)
        x, y = next(iter(dls.valid))
        assert x.shape == (2, 3, *size) and y.shape == (2, 1, *size) and y.dtype == torch.float32
        assert set(y.unique().tolist()) <= {0.0, 1.0}


def test_a_separate_validation_folder_with_its_own_masks_folder(tmp_path):
    for car in range(4):
        write_pair(tmp_path, f"{car:012x}_01", size=(24, 16))
    for car in range(4, 7):
        write_pair(tmp_path, f"{car:012x}_01", size=(24, 16), images="valid", masks="valid_masks")
    dls = binary_seg.binary_dls(tmp_path, size=8, bs=2, valid_folder="valid", valid_masks="valid_masks")
    assert [p.name for p in dls.train_ds.items] == [f"{car:012x}_01.jpg" for car in range(4)]  # all of train/
    assert [p.parent.name for p in dls.valid_ds.masks] == ["valid_masks"] * 3 and len(dls.valid_ds) == 3
    x, y = dls.valid_ds[0]
    assert x.shape == (3, 8, 8) and y.shape == (1, 8, 8)
    with pytest.raises(FileNotFoundError, match=r"3 of 3 image\(s\) have no mask.*pass valid_masks=.*in .*train_masks"):
        binary_seg.binary_dls(tmp_path, valid_folder="valid")  # masks default to the layout's masks folder


def test_validation_masks_can_share_the_training_masks_folder_and_overlaps_are_named(tmp_path):
    for car in range(4):
        write_pair(tmp_path, f"{car:012x}_01", size=(24, 16))
    write_pair(tmp_path, "000000000009_01", size=(24, 16), images="valid")  # its mask in train_masks/
    dls = binary_seg.binary_dls(tmp_path, size=8, bs=2, valid_folder="valid")
    assert len(dls.train_ds) == 4 and [p.name for p in dls.valid_ds.items] == ["000000000009_01.jpg"]
    write_pair(tmp_path, "000000000001_02", size=(24, 16), images="valid")  # another photo of a training car
    with pytest.warns(UserWarning, match=r"1 car\(s\) have photos in both .* for example '000000000001'"):
        binary_seg.binary_dls(tmp_path, size=8, bs=2, valid_folder="valid")
    with pytest.raises(ValueError, match=r"4 image\(s\) are both training and validation images"):
        binary_seg.binary_dls(tmp_path, size=8, bs=2, valid_folder="train")


def test_lesson14b_simple_upsampling_head_gives_one_logit_per_pixel_at_any_size():
    from notebook_defs import load_defs

    L14b = load_defs("lesson14b_carvana")

    class Body(torch.nn.Sequential):  # stride 32, like the pretrained encoders
        n_features = 16

    body = Body(torch.nn.Conv2d(3, 16, 32, stride=32))
    model = L14b.Upsample(body, n_out=1, widths=(8, 8, 4, 4))
    for h, w in [(64, 96), (48, 72)]:
        assert model(torch.rand(2, 3, h, w)).shape == (2, 1, h, w)
    ups = [m for m in model.decoder if isinstance(m, torch.nn.ConvTranspose2d)] + [
        m.conv for m in model.decoder if isinstance(m, L14b.StdUpsample)
    ]
    assert len(ups) == 5 and all(m.stride == (2, 2) for m in ups)  # five doublings: stride 32 back to 1
    assert model.layer_groups()[0] is body and "StdUpsample" in repr(model)
