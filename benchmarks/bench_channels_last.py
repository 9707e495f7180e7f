"""Channels-last weights on a CPU: the Learner's default there (``channels_last="auto"``) against the same Learner
with ``channels_last=False``, and a bare forward and training step of the model both ways.

Lesson 1's sample settings: EfficientNet-Lite0 at 96 px, batches of 32, the lesson-1 sample preloaded as tensors (no
JPEG decoding in the timings). Each figure is the median of ``--repeats`` runs, the two layouts alternating, so both
see the same machine load; the ratios are what to read on a shared CPU.

On a CPU with native bf16 it also times the bare steps under bf16 autocast, both layouts: what the Learner's
``mixed_precision="auto"`` rests on (bf16 for passes without gradients, float32 for steps that train convolutions).
``--size 224`` gives full mode's image size.

    .venv/bin/python benchmarks/bench_channels_last.py [--repeats 3] [--threads 0] [--size 96]
"""

import argparse

import torch
from torch import nn

from common import sample_tensors, tensor_dls, timed
from coursekit import metrics
from coursekit.core import cpu_has_bf16, seed_everything
from coursekit.learner import Learner
from coursekit.vision import models


def step_times(model, x, repeats, bf16=False):
    """(forward without gradients, forward + backward) wall seconds for one batch, median of ``repeats``."""
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    model.eval()
    with torch.no_grad(), autocast():
        model(x)  # oneDNN picks its kernels on the first call
        fwd = timed(lambda: model(x), repeats)[0]
    model.train()

    def train_step():
        model.zero_grad()
        with autocast():
            out = model(x)
        out.float().sum().backward()

    train_step()
    return fwd, timed(train_step, repeats)[0]


def fit_time(dls, channels_last, repeats):
    """Median wall seconds of building a Learner on a fresh pretrained model and one unfrozen epoch (training and
    validation) through it; the building is the same on both sides."""

    def one_epoch():
        seed_everything(0)
        learn = Learner(
            models.cnn_model("efficientnet_lite0", n_out=2),
            dls,
            nn.CrossEntropyLoss(),
            metrics=[metrics.accuracy],
            device="cpu",
            channels_last=channels_last,
        )
        learn.fit(1, 1e-3)
        return learn.recorder.last_metrics

    return timed(one_epoch, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's choice)")
    parser.add_argument("--size", type=int, default=96, help="image size in pixels (96: sample mode; 224: full)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train, valid = sample_tensors(size=args.size)
    x = train.tensors[0][:32]
    plain = models.cnn_model("efficientnet_lite0", n_out=2)
    nhwc = models.cnn_model("efficientnet_lite0", n_out=2).to(memory_format=torch.channels_last)
    f0, t0 = step_times(plain, x, args.repeats)
    f1, t1 = step_times(nhwc, x, args.repeats)
    dls = tensor_dls(train, valid, bs=32)
    e0, _, v0 = fit_time(dls, False, args.repeats)
    e1, _, v1 = fit_time(dls, "auto", args.repeats)
    threads, n = torch.get_num_threads(), len(train)
    print(f"EfficientNet-Lite0, {args.size} px, batch of 32, {threads} threads, {n} training images")
    print(f"forward:          contiguous {f0 * 1000:6.0f} ms   channels-last {f1 * 1000:6.0f} ms   ratio {f0 / f1:.2f}")
    print(f"forward+backward: contiguous {t0 * 1000:6.0f} ms   channels-last {t1 * 1000:6.0f} ms   ratio {t0 / t1:.2f}")
    print(f"Learner epoch:    contiguous {e0:6.1f} s    channels-last {e1:6.1f} s    ratio {e0 / e1:.2f}")
    print(f"  validation loss after the epoch: contiguous {v0['valid_loss']:.4f}, channels-last {v1['valid_loss']:.4f}")

    if cpu_has_bf16():
        b0, bt0 = step_times(plain, x, args.repeats, bf16=True)
        b1, bt1 = step_times(nhwc, x, args.repeats, bf16=True)
        print("bf16 autocast (this CPU computes in bf16 natively), speed-up over float32 in the same layout:")
        for name, (c, c16), (n, n16) in (("forward", (f0, b0), (f1, b1)), ("forward+backward", (t0, bt0), (t1, bt1))):
            print(
                f"  {name + ':':<18}contiguous {c16 * 1000:6.0f} ms ({c / c16:.2f}x)   "
                f"channels-last {n16 * 1000:6.0f} ms ({n / n16:.2f}x)"
            )


if __name__ == "__main__":
    main()
