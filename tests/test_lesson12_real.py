"""Lesson 12 on real data: Darknet from scratch on mnist_tiny (handwritten 3s and 7s).

The GAN check on the same data (a 3-vs-7 classifier confident about >= 70% of 256 samples) takes longer than a
test may on a CPU: it is ``benchmarks/bench_gan_mnist.py``.
"""

import pytest
import torch
from torch import nn

from coursekit.core import seed_everything
from coursekit.learner import Learner
from coursekit.metrics import accuracy
from coursekit.vision.cifar import cifar_dls
from coursekit.vision.darknet import Darknet
from conftest import need_shared

pytestmark = pytest.mark.real_data


def test_darknet_from_scratch_reaches_98_percent_on_mnist_tiny(tmp_path):
    path = need_shared("mnist_tiny")
    torch.set_num_threads(1)
    seed_everything(0)
    # digits are not flipped (a mirrored 3 is no 3); a 2-pixel padded random crop is the augmentation
    dls = cifar_dls(path, size=28, bs=32, pad=2, flip=False, valid="valid", seed=0)
    assert dls.classes == ["3", "7"] and len(dls.valid_ds) > 600
    learn = Learner(
        Darknet((1, 1), n_classes=2, nf=16),
        dls,
        nn.CrossEntropyLoss(),
        lr=1e-2,
        wd=1e-4,
        metrics=[accuracy],
        path=tmp_path,
        device="cpu",
    )
    learn.fit_one_cycle(4, 1e-2)
    assert learn.recorder.last_metrics["accuracy"] >= 0.98, learn.recorder.history()
