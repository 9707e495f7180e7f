"""Lesson 9's SSD: training through coursekit's Learner against the same model in a plain PyTorch loop, and
the time that anchor matching and per-class NMS take for one batch.

Both loops train the same SSD (EfficientNet-Lite0 body, frozen as in the lesson's sample mode; grids
(6, 3, 2, 1) at 96 pixels) with the same focal loss, optimizer, learning rate and starting weights, on the
generated "pascal" sample preloaded as tensors (no JPEG decoding in the timed part). Runs alternate
(ours, plain, ours, plain, ...) so machine noise hits both alike. Prints training images per second for
each, their ratio (target <= 1.05) from the medians and from the fastest runs, then the matching and NMS
times (median over repeats) for a batch of ``--bs`` images.

    .venv/bin/python benchmarks/bench_ssd.py [--epochs 1] [--repeats 3] [--size 96] [--bs 32] [--minutes 10]
"""

import argparse
import copy
import statistics
import time
from functools import partial

import torch
from torch.utils.data import TensorDataset

from common import lesson_defs, tensor_dls, timed, warm_up
from coursekit import datasets
from coursekit.callbacks import CancelValidException
from coursekit.core import default_device, seed_everything
from coursekit.learner import Learner, adamw
from coursekit.vision import detection_data, models


L = lesson_defs("lesson09_ssd")  # the SSD as lesson 9's notebook defines it
ZOOMS, RATIOS = (0.7, 1.0, 1.3), ((1.0, 1.0), (1.0, 0.5), (0.5, 1.0))


def preload(ds):
    """Every item through the validation transforms once, padded like ``collate_boxes``: a tensor dataset."""
    xs, boxes, labels = detection_data.collate_boxes([ds[i] for i in range(len(ds))], pad_to=ds.max_boxes)
    return TensorDataset(xs, boxes, labels)


def freeze_body(model):
    for p in model.body.parameters():
        p.requires_grad_(False)


def plain_fit(model, dl, n_epochs, lr, loss_func, device):
    """The loop a PyTorch user writes by hand (training only: that is what is timed)."""
    model.to(device).train()
    opt = adamw([p for p in model.parameters() if p.requires_grad], lr=lr)
    for _ in range(n_epochs):
        for xb, boxes, labels in dl:
            xb, boxes, labels = xb.to(device), boxes.to(device), labels.to(device)
            loss = loss_func(model(xb), boxes, labels)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--bs", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--minutes", type=float, default=10.0, help="stop starting new repeats after this long")
    args = parser.parse_args()
    device = default_device()
    path = datasets.get_data("pascal", mode="sample")
    dls = detection_data.pascal_dls(
        path, datasets.layout("pascal", "sample"), size=args.size, bs=args.bs, augment=False
    )
    train_ds, valid_ds = preload(dls.train_ds), preload(dls.valid_ds)
    n_classes = len(dls.classes)
    seed_everything(0)
    k = len(ZOOMS) * len(RATIOS)
    start_model = L.ssd_model(models.create_body(), n_classes, size=args.size, grids=(6, 3, 2, 1), k=k, hidden=128)
    freeze_body(start_model)
    anchors = L.make_anchors(start_model.grids, ZOOMS, RATIOS)
    loss_func = partial(L.ssd_loss, anchors=anchors, cls_loss=L.FocalLoss())
    print(
        f"device {device}; {len(train_ds)} training images at {args.size} px, bs {args.bs}, {len(anchors)} anchors; "
        f"{args.epochs} epoch(s) x {args.repeats} repeats"
    )

    def ours():
        seed_everything(0)
        tdls = tensor_dls(train_ds, valid_ds, bs=args.bs)
        for dl in (tdls.train, tdls.valid):
            dl.n_inp = 1
        model = copy.deepcopy(start_model)
        learn = Learner(model, tdls, loss_func, lr=args.lr, device=device, train_bn=False, layer_groups=lambda m: [m])
        with learn.temporary_cbs(add=[SkipValid()]):
            learn.fit(args.epochs, args.lr)

    def plain():
        seed_everything(0)
        tdls = tensor_dls(train_ds, valid_ds, bs=args.bs)
        plain_fit(copy.deepcopy(start_model), tdls.train, args.epochs, args.lr, loss_func, device)

    times = {"coursekit": [], "plain": []}
    warm_up(device, ours, plain)
    t_end = time.time() + 60 * args.minutes
    for r in range(args.repeats):
        if time.time() > t_end:
            print(f"--minutes {args.minutes} reached after {r} repeats")
            break
        for name, fn in (("coursekit", ours), ("plain", plain)):
            t, _, _ = timed(fn, repeats=1)
            times[name].append(t)
    n_images = len(train_ds) * args.epochs
    for name, ts in times.items():
        print(
            f"{name:>9}: {n_images / statistics.median(ts):7.1f} images/s (median of {len(ts)}), "
            f"{n_images / min(ts):7.1f} fastest"
        )
    median = statistics.median(times["coursekit"]) / statistics.median(times["plain"])
    print(
        f"ratio coursekit / plain time: median {median:.3f}, "
        f"fastest {min(times['coursekit']) / min(times['plain']):.3f} (target <= 1.05)"
    )

    xb, boxes, labels = valid_ds.tensors[0][: args.bs], valid_ds.tensors[1][: args.bs], valid_ds.tensors[2][: args.bs]
    start_model.eval()
    with torch.no_grad():
        preds = start_model(xb)
    preds[..., 4:] += 3.0  # an untrained head scores ~0.02 everywhere: lift it so NMS has real work to do
    t_match, _, _ = timed(lambda: L.ssd_targets(anchors, boxes, labels), repeats=5)
    t_nms, _, dets = timed(lambda: L.predict_boxes(preds, anchors, score_thresh=0.05), repeats=5)
    n_in = int((torch.sigmoid(preds[..., 4:]) > 0.05).sum())
    print(
        f"matching {len(anchors)} anchors to {int((labels >= 0).sum())} objects in {len(xb)} images: "
        f"{1000 * t_match:.1f} ms per batch"
    )
    print(
        f"decoding + per-class NMS of {n_in} candidate boxes in {len(xb)} images: {1000 * t_nms:.1f} ms per batch "
        f"({sum(len(d[0]) for d in dets)} kept)"
    )


class SkipValid:
    """Leaves the validation pass out of the timed fit (the plain loop has none)."""

    order = 0

    def before_valid(self, learn):
        raise CancelValidException()


if __name__ == "__main__":
    main()
