"""coursekit's Learner.fit against a hand-written PyTorch loop: same model, data, optimizer and epochs.

Both train EfficientNet-Lite0 (pretrained body, new head, all layers training) on the lesson-1 sample
preloaded as tensors, evaluate validation loss and accuracy after each epoch, and start from the same
weights. Runs alternate (ours, plain, ours, plain, ...) so machine noise hits both alike.
Prints the time ratio (target <= 1.05) of the medians and of the fastest runs (the least noisy estimate of
what the loop itself costs), final accuracies and peak memory.

    .venv/bin/python benchmarks/bench_fit_overhead.py [--epochs 2] [--repeats 5] [--size 96] [--mixed-precision fp16]

``--mixed-precision fp16`` (or ``bf16``) needs a CUDA GPU: the Learner gets ``mixed_precision=``, and the plain
loop the same ``torch.autocast`` (plus a ``GradScaler`` for fp16).
"""

import argparse
import copy
import statistics
import time

import torch
from torch import nn

from common import peak_memory_mb, sample_tensors, tensor_dls, warm_up
from coursekit.core import default_device, seed_everything
from coursekit.learner import Learner, adamw
from coursekit.metrics import accuracy
from coursekit.vision.models import cnn_model


def plain_fit(model, dls, n_epochs, lr, device, mp=None):
    """The loop a PyTorch user writes by hand."""
    model.to(device)
    opt = adamw(model.parameters(), lr=lr)
    loss_func = nn.CrossEntropyLoss()
    dtype = torch.bfloat16 if mp == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda") if mp == "fp16" else None
    for _ in range(n_epochs):
        model.train()
        for xb, yb in dls.train:
            xb, yb = xb.to(device), yb.to(device)
            with torch.autocast(device.type, dtype=dtype, enabled=bool(mp)):
                loss = loss_func(model(xb), yb)
            if scaler:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            opt.zero_grad(set_to_none=True)
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for xb, yb in dls.valid:
                xb, yb = xb.to(device), yb.to(device)
                with torch.autocast(device.type, dtype=dtype, enabled=bool(mp)):
                    out = model(xb)
                loss_func(out, yb).item()
                correct += (out.argmax(1) == yb).sum().item()
                total += len(yb)
    return correct / total


def coursekit_fit(model, dls, n_epochs, lr, device, mp=None):
    learn = Learner(
        model,
        dls,
        nn.CrossEntropyLoss(),
        lr=lr,
        metrics=[accuracy],
        device=device,
        mixed_precision=mp or False,
        channels_last=False,  # the plain loop's memory layout: the same work, so the ratio is the loop's overhead
    )
    learn.fit(n_epochs, lr)
    return learn.recorder.last_metrics["accuracy"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--mixed-precision", choices=("fp16", "bf16"), default=None)
    args = parser.parse_args()
    device = default_device()
    seed_everything(0)
    train_ds, valid_ds = sample_tensors(args.size)
    seed_everything(0)
    start_model = cnn_model("efficientnet_lite0", n_out=2)
    times = {"coursekit": [], "plain": []}
    accs = {}
    warm_up(
        device,
        *(
            lambda fit=fit: fit(
                copy.deepcopy(start_model),
                tensor_dls(train_ds, valid_ds, bs=32, seed=0),
                1,
                args.lr,
                device,
                args.mixed_precision,
            )
            for fit in (coursekit_fit, plain_fit)
        ),
    )
    for _ in range(args.repeats):
        for name, fit in (("coursekit", coursekit_fit), ("plain", plain_fit)):
            seed_everything(0)
            dls = tensor_dls(train_ds, valid_ds, bs=32, seed=0)
            model = copy.deepcopy(start_model)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            accs[name] = fit(model, dls, args.epochs, args.lr, device, args.mixed_precision)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    ours, plain = statistics.median(times["coursekit"]), statistics.median(times["plain"])
    print(
        f"\ndevice: {device}; {len(train_ds)} train / {len(valid_ds)} valid images at {args.size} px; "
        f"{args.epochs} epochs; {args.repeats} alternating repeats; "
        f"precision: {args.mixed_precision or 'float32'}"
    )
    print(
        f"coursekit fit : median {ours:.2f} s  runs {[round(t, 2) for t in times['coursekit']]}  "
        f"accuracy {accs['coursekit']:.4f}"
    )
    print(
        f"plain loop    : median {plain:.2f} s  runs {[round(t, 2) for t in times['plain']]}  "
        f"accuracy {accs['plain']:.4f}"
    )
    fastest = min(times["coursekit"]) / min(times["plain"])
    print(f"time ratio coursekit/plain: {ours / plain:.3f} of medians, {fastest:.3f} of fastest runs (target <= 1.05)")
    kind = "GPU allocated" if device.type == "cuda" else "process RSS"
    print(f"peak memory: {peak_memory_mb(device):.0f} MB ({kind})")


if __name__ == "__main__":
    main()
