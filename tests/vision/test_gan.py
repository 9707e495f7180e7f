"""Lesson 12b's GAN, as the notebook writes it: DCGAN_D / DCGAN_G and the WGAN loop (loaded from its `defs` cells)."""

import pytest
import torch
from notebook_defs import load_defs

L = load_defs("lesson12b_wgan")
NZ = 8


def tiny(seed=0, size=16):
    torch.manual_seed(seed)
    return L.DCGAN_G(size, nz=NZ, nc=3, ngf=8), L.DCGAN_D(size, nc=3, ndf=8)


def discs(n=64, seed=0):
    return L.draw_shapes(n, "disc", 16, torch.Generator().manual_seed(seed)) * 2 - 1  # [-1, 1] as the loop wants


def wasserstein_estimate(netD, netG, real, seed=1):
    """mean critic(real) - mean critic(fake): what a WGAN critic is trained to make large."""
    z = torch.randn(len(real), NZ, 1, 1, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return (netD(real).mean() - netD(netG(z)).mean()).item()


def test_dcgan_models_give_images_in_minus_1_to_1_and_one_score_each():
    netG, netD = tiny()
    imgs = netG(torch.randn(5, NZ, 1, 1))
    assert imgs.shape == (5, 3, 16, 16) and imgs.min() >= -1 and imgs.max() <= 1
    assert netD(imgs).shape == (5,)
    for size in (32, 64):
        g, d = L.DCGAN_G(size, nz=4, ngf=4), L.DCGAN_D(size, ndf=4)
        assert d(g(torch.randn(2, 4, 1, 1))).shape == (2,) and g(torch.randn(2, 4, 1, 1)).shape[-1] == size
    assert "ConvTranspose2d" in repr(netG) and "LeakyReLU" in repr(netD)  # print(netG) shows the layers
    with pytest.raises(ValueError, match="power of 2.*not 28"):
        L.DCGAN_G(28)
    with pytest.raises(ValueError, match="power of 2.*not 8"):
        L.DCGAN_D(8)


@pytest.mark.parametrize("kind", ["wgan", "gan"])
def test_critic_steps_teach_the_critic_to_score_real_images_above_fakes(kind):
    """Fails when the critic's loss has the wrong sign: the critic would then learn to prefer the fakes."""
    netG, netD = tiny()
    real = discs()
    before = wasserstein_estimate(netD, netG, real)
    optD = torch.optim.RMSprop(netD.parameters(), lr=5e-3)
    optG = torch.optim.RMSprop(netG.parameters(), lr=0.0)  # the generator stands still
    L.train(netG, netD, real, 4, optD, optG, kind=kind, n_critic=5, clip=0.05, bs=32, first=False)
    after = wasserstein_estimate(netD, netG, real)
    assert after > before + 0.01 and after > 0


def test_the_critic_loss_is_fake_minus_real_and_the_generator_loss_minus_fake():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 1.0])
    assert L.critic_loss(real, fake, "wgan").item() == pytest.approx(0.0 - 3.0)
    assert L.generator_loss(fake, "wgan").item() == pytest.approx(0.0)
    assert L.generator_loss(torch.tensor([3.0]), "wgan").item() == pytest.approx(-3.0)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    assert L.critic_loss(real, fake, "gan").item() == pytest.approx(
        (bce(real, torch.ones(2)) + bce(fake, torch.zeros(2))).item(), rel=1e-6
    )
    assert L.generator_loss(fake, "gan").item() == pytest.approx(bce(fake, torch.ones(2)).item(), rel=1e-6)


@pytest.mark.parametrize("kind", ["wgan", "gan"])
def test_generator_steps_raise_the_critics_score_of_the_fakes(kind):
    """Fails when the generator's loss has the wrong sign."""
    netG, netD = tiny()
    z = torch.randn(64, NZ, 1, 1, generator=torch.Generator().manual_seed(2))
    score = lambda: netD(netG(z)).mean().item()  # noqa: E731
    L.clip_weights(netD, 0.05)
    with torch.no_grad():
        before = score()
    optD = torch.optim.RMSprop(netD.parameters(), lr=0.0)  # the critic stands still
    optG = torch.optim.RMSprop(netG.parameters(), lr=5e-3)
    L.train(netG, netD, discs(), 10, optD, optG, kind=kind, n_critic=1, clip=0.05, bs=32, first=False)
    with torch.no_grad():
        assert score() > before


class Steps:
    """Wraps both optimisers' step to log, at every step, whose step it was, which weights moved and the critic's
    largest weight as the step begins (clipping must hold for every forward pass)."""

    def __init__(self, netG, netD, optD, optG):
        self.log, self.netG, self.netD = [], netG, netD
        for name, opt in (("C", optD), ("G", optG)):
            opt.step = self.wrap(name, opt.step)

    def wrap(self, name, step):
        def logged(*a, **k):
            params = list(self.netG.parameters()) + list(self.netD.parameters())
            before = [p.detach().clone() for p in params]
            biggest = max(p.abs().max().item() for p in self.netD.parameters())
            out = step(*a, **k)
            moved = [not torch.equal(b, p) for b, p in zip(before, params)]
            n_gen = len(list(self.netG.parameters()))
            self.log.append((name, any(moved[:n_gen]), any(moved[n_gen:]), biggest))
            return out

        return logged


def test_the_loop_runs_n_critic_clipped_critic_steps_per_generator_step_and_moves_only_one_model():
    netG, netD = tiny()
    with torch.no_grad():  # a critic with big weights: clipping must hold from the first step
        for p in netD.parameters():
            p.mul_(100)
    optD, optG = L.make_optimizers(netG, netD, "wgan", 5e-3)
    assert isinstance(optD, torch.optim.RMSprop)
    steps = Steps(netG, netD, optD, optG)
    losses, _ = L.train(netG, netD, discs(), 4, optD, optG, kind="wgan", n_critic=3, clip=0.02, bs=8, first=False)
    assert "".join(s for s, *_ in steps.log) == "CCCG" * 4 and len(losses) == 4
    for who, gen_moved, critic_moved, biggest in steps.log:
        assert (gen_moved, critic_moved) == ((True, False) if who == "G" else (False, True))
        if who == "C":
            assert biggest <= 0.02 + 1e-7  # clipped before every critic step
    assert max(p.abs().max().item() for p in netD.parameters()) <= 0.02 + 1e-7  # and after the last one
    assert all(p.requires_grad for p in [*netG.parameters(), *netD.parameters()])  # both trainable again


def test_the_gan_loss_does_not_clip_and_uses_adam():
    netG, netD = tiny()
    with torch.no_grad():
        for p in netD.parameters():
            p.mul_(100)
    optD, optG = L.make_optimizers(netG, netD, "gan", 2e-4)
    assert isinstance(optG, torch.optim.Adam) and optG.defaults["betas"] == (0.5, 0.999)
    L.train(netG, netD, discs(), 1, optD, optG, kind="gan", n_critic=1, bs=8)
    assert max(p.abs().max().item() for p in netD.parameters()) > 0.5
    with pytest.raises(ValueError, match="'wgan' or 'gan', not 'lsgan'"):
        L.train(netG, netD, discs(), 1, optD, optG, kind="lsgan")


def test_the_2018_schedule_gives_bursts_of_critic_steps():
    assert [L.critic_iters(i) for i in (0, 24, 25, 499, 500, 501)] == [100, 100, 5, 5, 100, 5]
    assert L.critic_iters(0, n_critic=2, first=False) == 2


def test_a_fixed_seed_gives_the_same_snapshots_and_another_seed_others():
    def run(seed):
        netG, netD = tiny(seed)
        optD, optG = L.make_optimizers(netG, netD, "wgan", 5e-3)
        noise = torch.randn(4, NZ, 1, 1, generator=torch.Generator().manual_seed(0))
        torch.manual_seed(seed)
        _, snaps = L.train(
            netG,
            netD,
            discs(),
            4,
            optD,
            optG,
            n_critic=2,
            bs=8,
            first=False,
            seed=seed,
            fixed_noise=noise,
            snap_every=2,
        )
        return snaps

    a, b, c = run(3), run(3), run(4)
    assert [s for s, _ in a] == [2, 4] and a[0][1].shape == (4, 3, 16, 16)
    assert 0 <= a[-1][1].min() and a[-1][1].max() <= 1  # images in [0, 1]
    assert all(torch.equal(x, y) for (_, x), (_, y) in zip(a, b))
    assert not torch.equal(a[-1][1], c[-1][1])


def test_draw_shapes_draws_the_named_shape_and_says_which_it_knows():
    g = torch.Generator().manual_seed(0)
    imgs = L.draw_shapes(10, "disc", 16, g)
    assert imgs.shape == (10, 3, 16, 16) and imgs.min() >= 0 and imgs.max() <= 1
    assert (imgs.amax(dim=(1, 2, 3)) >= 0.5).all()  # every image has a visible shape
    ring = L.draw_shapes(1, "ring", 32, torch.Generator().manual_seed(0))
    disc = L.draw_shapes(1, "disc", 32, torch.Generator().manual_seed(0))  # same centre, radius and colour
    assert ring.sum() < disc.sum()  # a ring is a disc without its middle
    with pytest.raises(ValueError, match="not 'star'"):
        L.draw_shapes(1, "star", 16)


def test_recognised_counts_the_share_called_the_training_class_with_confidence():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            p = x.flatten(1)[:, :1]  # the first pixel is the probability of the training class
            return torch.cat([torch.log1p(-p + 1e-9), torch.log(p + 1e-9)], 1)

    imgs = torch.tensor([0.95, 0.91, 0.5, 0.2]).view(4, 1, 1, 1)
    assert L.recognised(Fixed(), imgs) == pytest.approx(0.5)
    assert L.recognised(Fixed(), imgs, p=0.4) == pytest.approx(0.75)
