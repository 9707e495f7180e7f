"""Lesson 12b's GAN check on real handwriting: the notebook's DCGAN_G / DCGAN_D and WGAN loop (its `defs` cells)
trained on mnist_tiny's training 3s and 7s, judged by a separately trained 3-vs-7 classifier.

The check (issue 12): the classifier (the notebook's ``make_classifier``, trained on the training folder and scored
on the held-out one) gives one class a probability >= 0.9 for at least 70% of 256 samples. The script prints that
share (and the untrained generator's, as a baseline), and saves the fixed-noise sample grid to
``benchmarks/results/gan_mnist_grid.png``. ``--minutes`` is the GAN's training budget (wall time). It skips with
the reason when ``../shared/data/mnist_tiny`` (``COURSEKIT_SHARED_DATA``) is absent. Too slow for a test on a CPU.

    .venv/bin/python benchmarks/bench_gan_mnist.py [--minutes 10] [--threads 1] [--loss wgan]
"""

import argparse
import time

import torch
import torch.nn.functional as F

from common import lesson_defs, REPO, shared_data
from coursekit.core import seed_everything
from coursekit.vision.cifar import cifar_dls


L = lesson_defs("lesson12b_wgan")


def confident_share(clf, netG, noise):
    """Share of the samples for ``noise`` to which ``clf`` gives some class a probability >= 0.9, and the share
    called 7."""
    clf.eval()
    with torch.no_grad():
        probs = clf(L.generate(netG, noise)).softmax(1)
    return (probs.max(1).values >= 0.9).float().mean().item(), probs.argmax(1).float().mean().item()


def tensors(ds):
    return torch.stack([ds[i][0] for i in range(len(ds))]), torch.as_tensor(ds.labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="GAN training budget (wall time)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--loss", choices=["wgan", "gan"], default="wgan")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--clip", type=float, default=0.01)
    parser.add_argument("--nf", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = shared_data() / "mnist_tiny"
    if not path.exists():
        print(f"SKIPPED: real data {path} is absent (set COURSEKIT_SHARED_DATA to the shared/data folder)")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    start = time.time()
    plain = cifar_dls(path, size=32, bs=64, pad=0, flip=False, valid="valid", seed=args.seed)
    (x, y), (vx, vy) = tensors(plain.train_ds), tensors(plain.valid_ds)
    clf, g = L.make_classifier(), torch.Generator().manual_seed(args.seed)
    opt = torch.optim.Adam(clf.parameters(), 3e-3)
    for _ in range(10):
        for idx in torch.randperm(len(x), generator=g).split(64):
            loss = F.cross_entropy(clf(x[idx]), y[idx])
            opt.zero_grad(), loss.backward(), opt.step()
    clf.eval()
    with torch.no_grad():
        acc = (clf(vx).argmax(1) == vy).float().mean().item()
    print(f"3-vs-7 classifier: held-out accuracy {acc:.4f} ({time.time() - start:.0f} s)")

    nz = 64
    netG, netD = L.DCGAN_G(32, nz, 3, args.nf), L.DCGAN_D(32, 3, args.nf)
    noise = torch.randn(256, nz, 1, 1, generator=torch.Generator().manual_seed(args.seed + 1))
    base_share, _ = confident_share(clf, netG, noise)
    optD, optG = L.make_optimizers(netG, netD, args.loss, args.lr)
    gan_start, steps, n_crit = time.time(), 0, args.n_critic if args.loss == "wgan" else 1
    while time.time() - gan_start < args.minutes * 60:  # 50 generator steps at a time until the budget is spent
        L.train(
            netG,
            netD,
            x * 2 - 1,
            50,
            optD,
            optG,
            kind=args.loss,
            n_critic=n_crit,
            clip=args.clip,
            bs=64,
            first=False,
            seed=args.seed + steps,
        )
        steps += 50
    share, balance = confident_share(clf, netG, noise)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    from torchvision.utils import save_image

    save_image(L.generate(netG, noise[:64]), out / "gan_mnist_grid.png", nrow=8)
    print(
        f"GAN ({args.loss}): {steps} generator steps, {steps * n_crit} critic steps in "
        f"{time.time() - gan_start:.0f} s; lr {args.lr}, n_critic {n_crit}, clip {args.clip}"
    )
    print(
        f"samples with a class probability >= 0.9: {share:.3f} (untrained generator {base_share:.3f}); "
        f"share called 7: {balance:.3f}; target >= 0.70: {'ok' if share >= 0.7 else 'MISSED'}"
    )
    print(f"sample grid: {out / 'gan_mnist_grid.png'}")


if __name__ == "__main__":
    main()
