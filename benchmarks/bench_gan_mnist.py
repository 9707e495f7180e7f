"""Lesson 12's GAN check on real handwriting: a WGAN trained through the Learner on mnist_tiny's training 3s and
7s, judged by a separately trained 3-vs-7 classifier.

The check (issue 12): the classifier (a small Darknet, trained on the training folder and scored on the held-out
one) gives one class a probability >= 0.9 for at least 70% of 256 samples. The script prints that share (and the
untrained generator's, as a baseline), and saves the fixed-noise sample grid to
``benchmarks/results/gan_mnist_grid.png``. ``--minutes`` is the GAN's training budget (wall time). It skips with
the reason when ``../shared/data/mnist_tiny`` (``COURSEKIT_SHARED_DATA``) is absent. Too slow for a test on a CPU.

    .venv/bin/python benchmarks/bench_gan_mnist.py [--minutes 10] [--threads 1]
"""

import argparse
import time

import torch
from torch import nn

from common import lesson_defs, REPO, preload, shared_data, tensor_dls
from coursekit.core import seed_everything
from coursekit.learner import Learner
from coursekit.metrics import accuracy
from coursekit.vision.cifar import cifar_dls
from coursekit.vision.gan import GAN, WGANCallback, WGANLoss, dcgan_critic, dcgan_generator, rmsprop

Darknet = lesson_defs("lesson12_darknet").Darknet  # lesson 12 writes it


def confident_share(clf, gan, n=256, seed=1):
    """Share of ``n`` samples to which ``clf`` gives some class a probability >= 0.9, and the class balance."""
    clf.eval(), gan.eval()
    with torch.no_grad():
        probs = clf(gan.generate(gan.noise(n, generator=torch.Generator().manual_seed(seed)))).softmax(1)
    gan.train()
    return (probs.max(1).values >= 0.9).float().mean().item(), probs.argmax(1).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="GAN training budget (wall time)")
    parser.add_argument("--threads", type=int, default=0)
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
    dls = cifar_dls(path, size=32, bs=32, pad=2, flip=False, valid="valid", seed=args.seed)
    clf = Learner(
        Darknet((1, 1), n_classes=2, nf=16),
        dls,
        nn.CrossEntropyLoss(),
        lr=1e-2,
        wd=1e-4,
        metrics=[accuracy],
        path="/tmp",
        device="cpu",
    )
    clf.fit_one_cycle(5, 1e-2)
    print(
        f"3-vs-7 classifier: held-out accuracy {clf.recorder.last_metrics['accuracy']:.4f} "
        f"({time.time() - start:.0f} s)"
    )

    plain = cifar_dls(path, size=32, bs=64, pad=0, flip=False, valid="valid", seed=args.seed)
    gdls = tensor_dls(preload(plain.train_ds), preload(plain.valid_ds), bs=64, seed=args.seed)
    gan = GAN(dcgan_generator(32, nz=64, ngf=args.nf), dcgan_critic(32, ndf=args.nf), nz=64)
    base_share, _ = confident_share(clf.model, gan)
    cb = WGANCallback(n_critic=args.n_critic, clip=args.clip, grid_every=50, seed=args.seed)
    learn = Learner(gan, gdls, WGANLoss(gan), opt_func=rmsprop, lr=args.lr, wd=0.0, cbs=[cb], path="/tmp", device="cpu")
    gan_start = time.time()
    while time.time() - gan_start < args.minutes * 60:
        learn.fit(1)
    share, balance = confident_share(clf.model, gan)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    from torchvision.utils import save_image

    cb.add_grid(gan)
    save_image(cb.grids[-1][1], out / "gan_mnist_grid.png")
    print(
        f"GAN: {cb.gen_steps} generator steps, {len(cb.critic_losses)} critic steps in "
        f"{time.time() - gan_start:.0f} s; lr {args.lr}, n_critic {args.n_critic}, clip {args.clip}"
    )
    print(
        f"samples with a class probability >= 0.9: {share:.3f} (untrained generator {base_share:.3f}); "
        f"share called 7: {balance:.3f}; target >= 0.70: {'ok' if share >= 0.7 else 'MISSED'}"
    )
    print(f"sample grid: {out / 'gan_mnist_grid.png'}")


if __name__ == "__main__":
    main()
