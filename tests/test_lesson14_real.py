"""Lesson 14 on real photos, ../shared/data/pets (Oxford-IIIT Pets, CC BY-SA 4.0, Parkhi et al. 2012); skipped
with the reason when absent. Each prints its figures (pytest -s shows them). Longer runs, with the issue's full
targets (super resolution +1.2 dB after minutes of training; the fast style network against L-BFGS), are
benchmarks/bench_superres.py.
"""

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from coursekit.core import seed_everything
from coursekit.data import make_loaders
from coursekit.learner import Learner
from coursekit.precompute import features_dataset
from coursekit.vision import binary_seg, models
from conftest import need_shared

pytestmark = pytest.mark.real_data
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


class DecoderOnly(nn.Module):
    """A U-Net whose frozen encoder ran once ahead (2018's ``precompute=True``): (image, 5 stage outputs) -> logits."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, x, *feats):
        y = feats[-1]
        for block, skip in zip(self.unet.decoder, reversed(feats[:-1])):
            y = block(y, skip)
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.unet.final(torch.cat([y, x], dim=1))


def with_features(ds, body):
    """(image, its 5 encoder stage outputs, mask) tensors for every item: the encoder runs once."""
    return features_dataset(body, DataLoader(ds, 32), fn=lambda x: (x, *body.features(x)))


def test_unet_on_pets_trimaps_reaches_dice_088_on_held_out_photos(one_thread):
    seed_everything(0)
    path = need_shared("pets")
    dls = binary_seg.binary_dls(path, size=(64, 64), bs=16, layout="oxford_pets", augment=False)
    unet = models.unet_model("efficientnet_lite0", n_out=1)
    body = unet.body.eval()  # frozen, BatchNorm with its ImageNet statistics: its outputs can be computed once
    dls = make_loaders(with_features(dls.train_ds, body), with_features(dls.valid_ds, body), bs=16, seed=0)
    learn = Learner(DecoderOnly(unet), dls, binary_seg.DiceBCELoss(), metrics=[binary_seg.Dice()])
    learn.fit_one_cycle(8, 1e-2)
    preds, targets = learn.get_preds()
    dice = binary_seg.dice_score(preds, targets).item()
    every_pixel = binary_seg.dice_score(torch.ones_like(targets, dtype=torch.bool), targets).item()
    print(
        f"\npets trimaps as pet/background, {len(targets)} held-out photos at 64 px: Dice {dice:.4f} "
        f"(calling every pixel pet: {every_pixel:.4f})"
    )
    assert dice >= 0.88


def test_super_resolution_x2_beats_bicubic_on_held_out_pets_photos(one_thread):
    from bench_superres import run_superres

    r = run_superres(need_shared("pets"), minutes=0.75, size=64, bs=8, nf=16, n_blocks=2, lr=3e-3)
    print(
        f"\nsuper resolution x2 on pets, 0.75 CPU minutes ({r['steps']} steps): PSNR {r['psnr_model']:.2f} dB "
        f"vs bicubic {r['psnr_bicubic']:.2f} dB ({r['gain_db']:+.2f} dB; the issue's +1.2 dB needs minutes of "
        "training: benchmarks/bench_superres.py --minutes 8)"
    )
    assert r["gain_db"] >= 0.4
