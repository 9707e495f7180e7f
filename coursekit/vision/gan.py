"""Generative adversarial networks trained through the Learner: DCGAN models and WGAN with weight clipping.

The model is ``GAN(generator, critic)``; its forward turns noise into images. ``WGANCallback`` makes each
Learner batch one step of either the critic or the generator, as the 2018 ``wgan`` notebook's hand-written
loop did: before the batch it swaps the loader's (images, labels) for (noise, images), decides whose step it
is, makes only that model trainable and tells ``WGANLoss`` which loss to give; after a critic step it clips
the critic's weights to ``[-clip, clip]``. So progress, the Recorder, save/load and the device work as for
every other model. Validation batches report the critic's loss on held-out images: minus its estimate of the
Wasserstein distance between real and generated images.
"""

import torch
from torch import nn

from coursekit.callbacks import Callback


def dcgan_generator(size=32, nz=100, nc=3, ngf=64):
    """Noise (B, nz, 1, 1) -> images (B, nc, size, size) in [-1, 1]: transposed convs doubling the size from
    4x4, BatchNorm and ReLU between, tanh at the end (the DCGAN pyramid)."""
    n_up = _n_halvings(size)  # 4 -> size takes log2(size / 4) doublings, the last one to nc channels
    c = ngf * 2 ** (n_up - 1)
    layers = [nn.ConvTranspose2d(nz, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
    for _ in range(n_up - 1):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(inplace=True)]
        c //= 2
    return nn.Sequential(*layers, nn.ConvTranspose2d(c, nc, 4, 2, 1, bias=False), nn.Tanh())


def dcgan_critic(size=32, nc=3, ndf=64):
    """Images (B, nc, size, size) -> one score each (B,): stride-2 convs halving the size to 4x4, BatchNorm and
    LeakyReLU(0.2), then a 4x4 conv to one number. No sigmoid: a WGAN critic scores, it does not classify."""
    layers, c = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)], ndf
    for _ in range(_n_halvings(size) - 1):  # size / 2 (after the first conv) down to 4
        layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, inplace=True)]
        c *= 2
    return nn.Sequential(*layers, nn.Conv2d(c, 1, 4, 1, 0, bias=False), nn.Flatten(0))


def _n_halvings(size):
    n = size.bit_length() - 1
    if size != 2**n or size < 16:
        raise ValueError(f"DCGAN image size must be a power of 2 of at least 16 (16, 32, 64...), not {size}.")
    return n - 2  # halvings from size down to 4


class GAN(nn.Module):
    """A generator and a critic in one module (saved, loaded and moved together); ``forward`` generates."""

    def __init__(self, generator, critic, nz=100):
        super().__init__()
        self.generator, self.critic, self.nz = generator, critic, nz
        self.gen_mode = True  # WGANCallback switches it; WGANLoss reads it

    def forward(self, noise):
        return self.generator(noise)  # (B, nz, 1, 1) -> (B, nc, H, W) in [-1, 1]

    def noise(self, n, device=None, generator=None):
        """``n`` noise vectors (n, nz, 1, 1) from a standard normal."""
        return torch.randn(n, self.nz, 1, 1, device=device, generator=generator)

    def generate(self, noise):
        """Images for ``noise`` in [0, 1] (B, nc, H, W), as the loaders give real ones."""
        return (self(noise) + 1) / 2

    def layer_groups(self):
        """[generator, critic]."""
        return [self.generator, self.critic]


class WGANLoss(nn.Module):
    """The WGAN losses: the critic's ``critic(fake) - critic(real)`` (minus its Wasserstein estimate), the
    generator's ``-critic(fake)``; which one follows ``gan.gen_mode``."""

    def __init__(self, gan):
        super().__init__()
        self.gan = [gan]  # in a list: not a sub-module, so the GAN is not saved twice

    def forward(self, fake, real):
        critic = self.gan[0].critic
        if self.gan[0].gen_mode:
            return -critic(fake).mean()
        return critic(fake).mean() - critic(real * 2 - 1).mean()  # real images [0, 1] -> the generator's [-1, 1]


def wgan_schedule(n_critic=5, burst=100, burst_first=25, burst_every=500):
    """How many critic steps come before generator step ``i`` (0-based): ``burst`` for the first ``burst_first``
    and every ``burst_every``-th, else ``n_critic`` (the 2018 notebook's 100 / 25 / 500 / 5); ``burst=0``: always
    ``n_critic``."""

    def f(i):
        if burst and (i < burst_first or (burst_every and i % burst_every == 0)):
            return burst
        return n_critic

    return f


def rmsprop(params, lr, weight_decay=0.0):
    """RMSprop, the optimizer of the 2018 WGAN (Adam's momentum destabilises a clipped critic)."""
    return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)


def sample_grid(gan, noise, nrow=8):
    """The generator's images for ``noise`` as one (3, H, W) grid in [0, 1], drawn in evaluation mode."""
    from torchvision.utils import make_grid

    was = gan.generator.training
    gan.generator.eval()
    with torch.no_grad():
        imgs = gan.generate(noise.to(next(gan.parameters()).device)).float().cpu()
    gan.generator.train(was)
    return make_grid(imgs, nrow=nrow, padding=1).clamp(0, 1)


def frechet_distance(real, fake, size=8):
    """A pixel-space Frechet distance between two sets of (n, C, H, W) images in [0, 1]: each image shrunk to
    ``size`` x ``size``, each set summed up as a Gaussian (mean, covariance), and the Frechet distance between the
    two Gaussians. A crude FID without the Inception features: 0 for the same distribution, larger the further."""

    def stats(x):
        x = torch.nn.functional.adaptive_avg_pool2d(x.float().cpu(), size).flatten(1).double()
        return x.mean(0), torch.cov(x.T)

    def sqrt_psd(m):  # square root of a symmetric positive semi-definite matrix
        vals, vecs = torch.linalg.eigh((m + m.T) / 2)
        return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T

    (mu1, s1), (mu2, s2) = stats(real), stats(fake)
    root1 = sqrt_psd(s1)
    cross = sqrt_psd(root1 @ s2 @ root1)
    return float((mu1 - mu2).pow(2).sum() + torch.trace(s1 + s2 - 2 * cross))


class WGANCallback(Callback):
    """Switches a ``GAN`` between critic and generator steps inside ``Learner.fit`` (see the module docstring).

    ``n_critic``: critic steps per generator step, a number or a function of the generator step (``wgan_schedule``).
    ``clip``: the critic's weights are clamped to ``[-clip, clip]`` at the start of the fit and after each critic
    step. ``grid_every``: draw the fixed-noise grid every that many generator steps (and at each epoch's end).
    """

    order = -4  # after DeviceCallback (the batch is on the device), before the scheduler and the Recorder

    def __init__(self, n_critic=5, clip=0.01, n_grid=64, grid_every=None, seed=0):
        if not clip > 0:
            raise ValueError(
                f"WGAN weight clipping needs clip > 0, not clip={clip!r}: the critic's weights are "
                "clamped to [-clip, clip] (the 2018 value is 0.01)."
            )
        self.schedule = n_critic if callable(n_critic) else (lambda i, n=int(n_critic): n)
        self.clip, self.grid_every = float(clip), grid_every
        self.n_grid, self.seed, self.fixed_noise = n_grid, seed, None
        self.gen_steps, self.critic_left = 0, self.schedule(0)
        self.gen_losses, self.critic_losses, self.grids, self.steps = [], [], [], []

    def before_fit(self, learn):
        gan = learn.model
        if not isinstance(gan, GAN):
            raise TypeError(f"WGANCallback trains a gan.GAN (generator and critic), not a {type(gan).__name__}.")
        if self.fixed_noise is None or self.fixed_noise.shape[1] != gan.nz:  # on the CPU: the same on any device
            self.fixed_noise = gan.noise(self.n_grid, generator=torch.Generator().manual_seed(self.seed))
        self.clip_critic(gan)

    def clip_critic(self, gan):
        with torch.no_grad():
            for p in gan.critic.parameters():
                p.clamp_(-self.clip, self.clip)

    def set_mode(self, gan, gen_mode):
        gan.gen_mode = gen_mode
        for p in gan.generator.parameters():
            p.requires_grad_(gen_mode)
        for p in gan.critic.parameters():
            p.requires_grad_(not gen_mode)

    def before_batch(self, learn):
        real = learn.xb[0]  # the loader's images; its labels are not used
        gan = learn.model
        learn.xb, learn.yb = (gan.noise(len(real), real.device),), (real,)
        # validation scores the critic on held-out images; training alternates as the schedule says
        self.set_mode(gan, learn.training and self.critic_left == 0)

    def after_loss(self, learn):
        if learn.training and learn.loss is not None:
            (self.gen_losses if learn.model.gen_mode else self.critic_losses).append(learn.loss.item())
            self.steps.append("G" if learn.model.gen_mode else "C")

    def after_step(self, learn):
        gan = learn.model
        if gan.gen_mode:
            self.gen_steps += 1
            self.critic_left = self.schedule(self.gen_steps)
            if self.grid_every and self.gen_steps % self.grid_every == 0:
                self.add_grid(gan)
        else:
            self.clip_critic(gan)
            self.critic_left -= 1

    def after_epoch(self, learn):
        self.add_grid(learn.model)

    def after_fit(self, learn):
        self.set_mode(learn.model, True)
        for p in learn.model.parameters():  # both trainable again, as a model is outside a fit
            p.requires_grad_(True)

    def add_grid(self, gan):
        self.grids.append((self.gen_steps, sample_grid(gan, self.fixed_noise)))

    def plot_losses(self, ax=None):
        """The critic's and the generator's training losses against the generator step."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 3.5))[1]
        gen_at, crit_at, g = [], [], 0
        for s in self.steps:
            (gen_at if s == "G" else crit_at).append(g)
            g += s == "G"
        ax.plot(crit_at, self.critic_losses, ".", ms=2, alpha=0.4, label="critic: D(fake) - D(real)")
        ax.plot(gen_at, self.gen_losses, "-", label="generator: -D(fake)")
        ax.set_xlabel("generator step"), ax.set_ylabel("loss"), ax.legend()
        return ax

    def show_grids(self, n=4, size=3):
        """The fixed-noise grid at ``n`` moments of training, left to right."""
        import matplotlib.pyplot as plt

        picks = [self.grids[round(i * (len(self.grids) - 1) / max(n - 1, 1))] for i in range(min(n, len(self.grids)))]
        fig, axes = plt.subplots(1, len(picks), figsize=(size * len(picks), size), squeeze=False)
        for ax, (step, grid) in zip(axes[0], picks):
            ax.imshow(grid.permute(1, 2, 0).numpy()), ax.set_title(f"generator step {step}"), ax.axis("off")
        fig.tight_layout()
        return fig
