"""Super resolution: the notebook's pixel shuffle and ICNR (its ``defs`` cells) against PyTorch's, the network's
start, the paired dataset's shared crop and flip, PSNR, bad pairs."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from notebook_defs import load_defs
from PIL import Image
from torch import nn

from coursekit.vision import superres

L14 = load_defs("lesson14_enhance")


def box_down(x, s=2):
    """Average of each s x s block: commutes with crops at multiples of s and with flips."""
    return F.avg_pool2d(x[None], s)[0]


def test_our_pixel_shuffle_equals_pytorchs():
    torch.manual_seed(0)
    for s, shape in [(2, (2, 12, 5, 7)), (3, (1, 18, 4, 3)), (4, (1, 16, 2, 2))]:
        x = torch.randn(shape)
        assert torch.equal(L14.pixel_shuffle(x, s), nn.PixelShuffle(s)(x))
        assert torch.equal(L14.PixelShuffle(s)(x), nn.PixelShuffle(s)(x))


def test_icnr_start_is_a_plain_conv_then_nearest_neighbour_upsampling():
    torch.manual_seed(0)
    up = L14.PixelShuffleUp(4, scale=2)
    plain = L14.conv(4, 4)
    with torch.no_grad():
        plain.weight.copy_(up[0].weight[::4])
        plain.bias.zero_()
    x = torch.randn(2, 4, 5, 6)
    want = F.interpolate(F.relu(plain(x)), scale_factor=2, mode="nearest")
    torch.testing.assert_close(up(x), want)
    w = L14.icnr_(torch.empty(16 * 4, 16, 3, 3))  # the shared kernels keep Kaiming's spread: std sqrt(2 / fan_in)
    assert w[::4].std().item() == pytest.approx(math.sqrt(2 / (16 * 9)), rel=0.1)


def test_icnr_makes_the_first_pixel_shuffle_output_free_of_checkerboard():
    torch.manual_seed(0)
    up = L14.PixelShuffleUp(8, scale=2)
    y = up(torch.randn(2, 8, 5, 7))  # (2, 8, 10, 14)
    blocks = y.reshape(2, 8, 5, 2, 7, 2)
    assert torch.equal(blocks, blocks[:, :, :, :1, :, :1].expand_as(blocks))  # every sub-pixel of a block equal
    assert y.abs().sum() > 0
    plain = L14.PixelShuffleUp(8, scale=2, icnr=False)(torch.randn(2, 8, 5, 7)).reshape(2, 8, 5, 2, 7, 2)
    assert not torch.equal(plain, plain[:, :, :, :1, :, :1].expand_as(plain))  # without ICNR: a checkerboard


def test_icnr_needs_channels_divisible_by_the_block():
    with pytest.raises(ValueError, match="divisible by 4"):
        L14.icnr_(torch.empty(6, 3, 3, 3), scale=2)


def test_the_network_starts_as_bicubic_and_has_no_batchnorm():
    net = L14.SrResnet(scale=2, nf=8, n_blocks=2)
    x = torch.rand(1, 3, 6, 6)
    assert net(x).shape == (1, 3, 12, 12)
    assert torch.allclose(net(x), superres.upscale_bicubic(x, 2))  # bicubic, clamped to [0, 1]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert L14.SrResnet(scale=4, nf=8, n_blocks=1)(x).shape == (1, 3, 24, 24)


def test_psnr_matches_hand_worked_values():
    t = torch.zeros(1, 1, 2, 2)
    # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB
    assert superres.psnr(t + 0.1, t).item() == pytest.approx(20.0, abs=1e-4)
    # one pixel of four off by 0.5: MSE 0.0625 -> 10 log10(16) = 12.0412 dB
    p = t.clone()
    p[0, 0, 0, 0] = 0.5
    assert superres.psnr(p, t).item() == pytest.approx(10 * math.log10(16), abs=1e-4)
    # per image, then averaged: (20 + 40) / 2
    two = torch.cat([t + 0.1, t + 0.01])
    assert superres.psnr(two, torch.zeros(2, 1, 2, 2)).item() == pytest.approx(30.0, abs=1e-3)


def photos(folder, n=3, size=(40, 30)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"p{i}.png")
        out.append(folder / f"p{i}.png")
    return out


def test_paired_dataset_applies_the_same_crop_and_flip_to_both(tmp_path):
    hr_files = photos(tmp_path / "hr")
    (tmp_path / "lr").mkdir()
    lr_files = []
    for f in hr_files:  # stored low-res images: the 2x2 block means of the high-res ones
        hr = torch.from_numpy(np.array(Image.open(f))).permute(2, 0, 1).float()
        lr = box_down(hr).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
        Image.fromarray(lr).save(tmp_path / "lr" / f.name)
        lr_files.append(tmp_path / "lr" / f.name)
    ds = superres.PairedSRDataset(hr_files, scale=2, size=16, train=True, lr_items=lr_files, seed=1)
    flips = set()
    for _ in range(6):
        for i in range(len(ds)):
            lr, hr = ds[i]
            assert lr.shape == (3, 8, 8) and hr.shape == (3, 16, 16)
            assert torch.allclose(lr, box_down(hr), atol=0.6 / 255)  # the same place, the same way round
            flips.add(ds.crop_box(30, 40)[2])
    assert flips == {True, False}


def test_made_low_res_is_the_downscaled_crop(tmp_path):
    ds = superres.PairedSRDataset(photos(tmp_path / "hr"), scale=2, size=16, train=True, seed=3)
    lr, hr = ds[0]
    assert torch.allclose(lr, superres.downscale(hr, 2), atol=1e-6)
    valid = superres.PairedSRDataset(ds.items, scale=2, size=16, train=False)
    assert torch.equal(valid[1][1], valid[1][1]) and torch.equal(valid[1][0], valid[1][0])


def test_cached_photos_give_the_same_pairs_and_are_decoded_once(tmp_path, monkeypatch):
    files = photos(tmp_path / "hr")
    plain = superres.PairedSRDataset(files, scale=2, size=16, train=True, seed=5)
    cached = superres.PairedSRDataset(files, scale=2, size=16, train=True, seed=5, cache=True)
    decoded = []
    real = superres._tensor
    monkeypatch.setattr(superres, "_tensor", lambda path: decoded.append(path) or real(path))
    for _ in range(3):  # three epochs: the same random crops and flips from the same seed
        for i in range(len(files)):
            (lr_a, hr_a), (lr_b, hr_b) = plain[i], cached[i]
            assert torch.equal(lr_a, lr_b) and torch.equal(hr_a, hr_b)
    assert decoded.count(files[0]) == 3 + 1  # three times without the cache, once with it
    assert "decoded in memory" in repr(cached)


def test_a_pair_not_in_the_scale_ratio_is_an_error_naming_the_file(tmp_path):
    hr_files = photos(tmp_path / "hr", n=1)
    (tmp_path / "lr").mkdir()
    Image.new("RGB", (21, 15)).save(tmp_path / "lr" / "p0.png")
    ds = superres.PairedSRDataset(hr_files, scale=2, size=16, lr_items=[tmp_path / "lr" / "p0.png"])
    with pytest.raises(superres.PairSizeError, match=r"lr[/\\]p0\.png is 21x15 .* must be 20x15"):
        ds[0]


def test_feature_loss_adds_weighted_feature_distances():
    feats = lambda x: [x * 2, x.mean(1, keepdim=True)]
    loss = L14.FeatureLoss(feats, [0.5, 1.0], pixel_weight=1.0, pixel_loss=F.l1_loss)
    p, t = torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    assert loss(p, t).item() == pytest.approx(1 + 0.5 * 2 + 1.0 * 1)
