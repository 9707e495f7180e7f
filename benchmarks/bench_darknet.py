"""Darknet training speed: images per second through ``Learner.fit`` vs the same model in a plain PyTorch loop.

Same model weights, preloaded batches (the generated CIFAR-10 sample, 32x32), optimizer (AdamW) and epochs; the
two loops alternate, ``--repeats`` times each, and the ratio of median times is printed (target <= 1.05). Each
variant runs in float32 and with ``channels_last``; mixed precision where the device has it (fp16 and bf16 on a
CUDA GPU, bf16 on a CPU with native bf16 instructions). ``--minutes`` caps the whole run.

    .venv/bin/python benchmarks/bench_darknet.py [--repeats 3] [--epochs 1] [--blocks 1 1 1] [--nf 16]
"""

import argparse
import copy
import statistics
import time

import torch
from torch import nn

from common import lesson_defs, preload, sync, tensor_dls, warm_up  # noqa: F401  (common puts the repository on sys.path)
from coursekit import datasets
from coursekit.core import cpu_has_bf16, default_device, seed_everything
from coursekit.learner import Learner, adamw
from coursekit.vision.cifar import cifar_dls

Darknet = lesson_defs("lesson12_darknet").Darknet  # lesson 12 writes it


def plain_loop(model, dls, epochs, lr, device, amp):
    opt = adamw(model.parameters(), lr)
    scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    loss_func = nn.CrossEntropyLoss()
    model.to(device)
    for _ in range(epochs):
        model.train()
        for xb, yb in dls.train:
            xb, yb = xb.to(device), yb.to(device)
            with torch.autocast(device.type, dtype=dtype, enabled=bool(amp)):
                loss = loss_func(model(xb), yb)
            (scaler.scale(loss) if scaler else loss).backward()
            if scaler:
                scaler.step(opt), scaler.update()
            else:
                opt.step()
            opt.zero_grad(set_to_none=True)
        model.eval()
        with torch.no_grad():
            for xb, yb in dls.valid:
                xb, yb = xb.to(device), yb.to(device)
                with torch.autocast(device.type, dtype=dtype, enabled=bool(amp)):
                    loss_func(model(xb), yb).item()
    if device.type == "cuda":
        torch.cuda.synchronize()


def learner_loop(model, dls, epochs, lr, device, amp):
    learn = Learner(
        model,
        dls,
        nn.CrossEntropyLoss(),
        lr=lr,
        device=device,
        mixed_precision=amp or False,
        cbs=[],
        path="/tmp",
        channels_last=False,  # the model comes in the layout its variant names, as the plain loop's does
    )
    learn.remove_cbs([cb for cb in learn.cbs if type(cb).__name__ == "ProgressCallback"])
    learn.fit(epochs)
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--blocks", type=int, nargs="+", default=[1, 1, 1])
    parser.add_argument("--nf", type=int, default=16)
    parser.add_argument("--bs", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads on a CPU (0: PyTorch's choice)")
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = default_device()
    dls0 = cifar_dls(datasets.get_data("cifar10", mode="sample"), bs=args.bs)
    train = dls0.train_ds.with_tfms(dls0.valid_ds.tfms)  # fixed views: both loops get the same pixels
    dls = tensor_dls(preload(train), preload(dls0.valid_ds), bs=args.bs)
    n_images = args.epochs * len(dls.train.dataset)
    variants = [("float32", False, None), ("channels_last", True, None)]
    if device.type == "cuda":
        variants += [("fp16", True, "fp16"), ("bf16", True, "bf16")]
    elif cpu_has_bf16():
        variants += [("bf16", False, "bf16")]
    else:
        print("mixed precision: skipped (no CUDA GPU, and this CPU has no native bf16)")
    seed_everything(0)
    start_model = Darknet(tuple(args.blocks), n_classes=10, nf=args.nf)
    deadline = time.time() + args.minutes * 60
    print(f"device {device}; Darknet{tuple(args.blocks)} nf={args.nf}; {n_images} images per run, bs {args.bs}")
    for name, channels_last, amp in variants:
        times = {"coursekit": [], "plain": []}

        def prepared():
            model = copy.deepcopy(start_model)
            return model.to(memory_format=torch.channels_last) if channels_last else model

        warm_up(
            device,
            *(
                lambda loop=loop: loop(prepared(), dls, args.epochs, 1e-3, device, amp)
                for loop in (learner_loop, plain_loop)
            ),
        )
        for r in range(args.repeats):
            for who, loop in (("coursekit", learner_loop), ("plain", plain_loop))[:: 1 if r % 2 == 0 else -1]:
                model = prepared()
                sync()
                t = time.perf_counter()
                loop(model, dls, args.epochs, 1e-3, device, amp)
                sync()  # the plain loop never reads a value back: without this, a GPU run times only the launches
                times[who].append(time.perf_counter() - t)
            if time.time() > deadline:
                print(f"--minutes {args.minutes} reached: stopping after {r + 1} repeats")
                break
        med = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"{name:>14}: coursekit {n_images / med['coursekit']:,.0f} img/s, plain loop "
            f"{n_images / med['plain']:,.0f} img/s; ratio of medians {med['coursekit'] / med['plain']:.3f}, "
            f"of fastest {min(times['coursekit']) / min(times['plain']):.3f} (target <= 1.05)"
        )
        if time.time() > deadline:
            break


if __name__ == "__main__":
    main()
