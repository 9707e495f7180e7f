"""Lesson 8's model (pretrained body, box-and-class head, combined loss) trained by coursekit's Learner against
the same model in a hand-written PyTorch loop: training images per second, and their ratio, in one run.

Both train every layer on the lesson-8 sample scenes (generated offline) preloaded as tensors, so the loops
compare training, not JPEG decoding; they start from the same weights, and runs alternate (ours, plain,
ours, plain...) so machine noise hits both alike. The Learner also runs its validation pass with metrics
(mean IoU, accuracy) after each epoch, and so does the plain loop.

    .venv/bin/python benchmarks/bench_lesson08.py [--epochs 1] [--repeats 3] [--size 64] [--n-train 128] [--minutes 0]

``--minutes`` (if above 0) keeps alternating runs until that much time has passed.
"""

import argparse
import copy
import statistics
import time

import torch
from torch.utils.data import TensorDataset

from common import lesson_defs, peak_memory_mb, tensor_dls, warm_up
from coursekit import datasets
from coursekit.core import default_device, seed_everything
from coursekit.learner import Learner, adamw
from coursekit.vision import detection_data, models


L8 = lesson_defs("lesson08_pascal")  # the lesson's own model, loss and metrics (its cells tagged defs)


def scene_tensors(size, n_train, n_valid=64):
    """The lesson-8 sample at ``size`` px, largest object only, as in-memory (images, boxes, labels)."""
    path = datasets.get_data("pascal", mode="sample")
    lay = datasets.layout("pascal", "sample")
    train, classes = detection_data.read_coco(path / lay["train_json"], path / lay["images"])
    valid, _ = detection_data.read_coco(path / lay["valid_json"], path / lay["images"])
    tfms = detection_data.detection_tfms(size, augment=False)

    def load(items):
        ds = detection_data.DetectionDataset(items, classes, tfms, target="both")
        xs, bs, ls = zip(*(ds[i] for i in range(len(ds))))
        return TensorDataset(torch.stack(xs), torch.stack(bs), torch.stack(ls))

    return load(train[:n_train]), load(valid[:n_valid]), classes


def plain_fit(model, dls, n_epochs, lr, device):
    """The loop a PyTorch user writes by hand, with the same loss and metrics."""
    model.to(device)
    opt = adamw(model.parameters(), lr=lr)
    loss_func = L8.detn_loss
    for _ in range(n_epochs):
        model.train()
        for xb, box, label in dls.train:
            xb, box, label = xb.to(device), box.to(device), label.to(device)
            loss = loss_func(model(xb), box, label)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        model.eval()
        ious, correct, total = 0.0, 0, 0
        with torch.no_grad():
            for xb, box, label in dls.valid:
                xb, box, label = xb.to(device), box.to(device), label.to(device)
                out = model(xb)
                loss_func(out, box, label).item()
                ious += L8.mean_iou(out, box).item() * len(box)
                correct += (out[:, 4:].argmax(1) == label).sum().item()
                total += len(label)
    return ious / total


def coursekit_fit(model, dls, n_epochs, lr, device):
    learn = Learner(model, dls, L8.detn_loss, lr=lr, device=device, metrics=[L8.mean_iou, L8.detn_acc])
    learn.fit(n_epochs, lr)
    return learn.recorder.last_metrics["mean_iou"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-train", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--minutes", type=float, default=0, help="keep alternating runs this long (0: --repeats)")
    args = parser.parse_args()
    device = default_device()
    train_ds, valid_ds, classes = scene_tensors(args.size, args.n_train)
    seed_everything(0)
    body = models.create_body("efficientnet_lite0")
    grid = body.eval()(torch.zeros(1, 3, args.size, args.size)).shape[-1]
    start_model = L8.LargestObjectModel(body, L8.head_reg4(body.n_features, grid, len(classes)))
    times, ious = {"coursekit": [], "plain": []}, {}

    def fresh():
        dls = tensor_dls(train_ds, valid_ds, bs=32, seed=0)
        dls.train.n_inp = dls.valid.n_inp = 1
        return dls

    warm_up(
        device,
        *(
            lambda fit=fit: fit(copy.deepcopy(start_model), fresh(), args.epochs, args.lr, device)
            for fit in (coursekit_fit, plain_fit)
        ),
    )
    began = time.perf_counter()
    while True:
        for name, fit in (("coursekit", coursekit_fit), ("plain", plain_fit)):
            seed_everything(0)
            dls = fresh()
            model = copy.deepcopy(start_model)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            ious[name] = fit(model, dls, args.epochs, args.lr, device)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
        done = len(times["plain"])
        if (args.minutes and time.perf_counter() - began >= args.minutes * 60) or (
            not args.minutes and done >= args.repeats
        ):
            break
    n_images = args.epochs * len(dls.train) * dls.train.batch_size  # images trained on (last batch dropped)
    ours, plain = statistics.median(times["coursekit"]), statistics.median(times["plain"])
    print(
        f"\ndevice: {device}; {len(train_ds)} train / {len(valid_ds)} valid scenes at {args.size} px; "
        f"{args.epochs} epoch(s) + validation; {done} alternating runs each"
    )
    for name, t in (("coursekit fit", times["coursekit"]), ("plain loop", times["plain"])):
        med = statistics.median(t)
        print(
            f"{name:<14}: {n_images / med:7.1f} training images/s (median {med:.2f} s; runs "
            f"{[round(v, 2) for v in t]}); mean IoU {ious['coursekit' if 'course' in name else 'plain']:.4f}"
        )
    fastest = min(times["coursekit"]) / min(times["plain"])
    print(
        f"images/s ratio plain/coursekit (= time ratio coursekit/plain): {ours / plain:.3f} of medians, "
        f"{fastest:.3f} of fastest runs (target <= 1.05)"
    )
    kind = "GPU allocated" if device.type == "cuda" else "process RSS"
    print(f"peak memory: {peak_memory_mb(device):.0f} MB ({kind})")


if __name__ == "__main__":
    main()
