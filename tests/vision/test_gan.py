"""Lesson 12's GAN: DCGAN models and WGAN training through the Learner with the switching callback."""

import pytest
import torch
from torch.utils.data import TensorDataset

from coursekit.core import seed_everything
from coursekit.data import make_loaders
from coursekit.learner import Learner
from coursekit.vision.gan import (
    GAN,
    WGANCallback,
    WGANLoss,
    dcgan_critic,
    dcgan_generator,
    frechet_distance,
    rmsprop,
    sample_grid,
    wgan_schedule,
)

NZ = 8


def tiny_gan():
    return GAN(dcgan_generator(16, nz=NZ, nc=3, ngf=8), dcgan_critic(16, nc=3, ndf=8), nz=NZ)


def gan_learner(tmp_path, n_critic=3, clip=0.01, seed=0, cbs=()):
    seed_everything(seed)
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(48, 3, 16, 16, generator=g)  # (images, labels) as an image loader gives them
    dls = make_loaders(
        TensorDataset(imgs[:40], torch.zeros(40, dtype=torch.long)),
        TensorDataset(imgs[40:], torch.zeros(8, dtype=torch.long)),
        bs=4,
        seed=seed,
    )
    gan = tiny_gan()
    cb = WGANCallback(n_critic=n_critic, clip=clip, n_grid=4)
    learn = Learner(
        gan, dls, WGANLoss(gan), opt_func=rmsprop, lr=5e-3, wd=0.0, cbs=[cb, *cbs], path=tmp_path, device="cpu"
    )
    return learn, cb


def test_dcgan_models_give_images_in_minus_1_to_1_and_one_score_each():
    gan = tiny_gan()
    imgs = gan(gan.noise(5))
    assert imgs.shape == (5, 3, 16, 16) and imgs.min() >= -1 and imgs.max() <= 1
    assert gan.critic(imgs).shape == (5,)
    assert dcgan_generator(64, nz=4, ngf=4)(torch.randn(2, 4, 1, 1)).shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="power of 2.*not 28"):
        dcgan_generator(28)


class Watch:
    """Records, for every training step, whose step it was and which weights moved."""

    order = 95

    def __init__(self):
        self.log = []

    def before_batch(self, learn):
        if learn.training:
            self.before = [p.detach().clone() for p in learn.model.parameters()]

    def after_batch(self, learn):
        if not learn.training:
            return
        gan = learn.model
        n_gen = len(list(gan.generator.parameters()))
        moved = [not torch.equal(a, b) for a, b in zip(self.before, gan.parameters())]
        crit = [p.detach().abs().max().item() for p in gan.critic.parameters()]
        self.log.append(("G" if gan.gen_mode else "C", any(moved[:n_gen]), any(moved[n_gen:]), max(crit)))


def test_the_callback_runs_n_critic_critic_steps_per_generator_step_and_moves_only_one_model(tmp_path):
    watch = Watch()
    learn, cb = gan_learner(tmp_path, n_critic=3, clip=0.02, cbs=[watch])
    learn.fit(2)
    steps = "".join(s for s, *_ in watch.log)
    assert steps == ("CCCG" * 5)[: len(steps)] and len(steps) == 20  # 10 batches an epoch
    assert cb.gen_steps == 5 and len(cb.critic_losses) == 15 and len(cb.gen_losses) == 5
    for step, gen_moved, critic_moved, biggest in watch.log:
        assert (gen_moved, critic_moved) == ((True, False) if step == "G" else (False, True))
        assert biggest <= 0.02 + 1e-7  # every critic weight within +-clip after every step
    assert all(p.requires_grad for p in learn.model.parameters())  # both trainable again after the fit


def test_clipping_holds_from_the_first_step_even_for_a_critic_with_big_weights(tmp_path):
    learn, _ = gan_learner(tmp_path, clip=0.005)
    with torch.no_grad():
        for p in learn.model.critic.parameters():
            p.mul_(100)
    learn.fit(1)
    assert max(p.abs().max().item() for p in learn.model.critic.parameters()) <= 0.005 + 1e-8


def test_a_schedule_gives_bursts_of_critic_steps_as_in_2018():
    f = wgan_schedule(n_critic=5, burst=100, burst_first=25, burst_every=500)
    assert [f(i) for i in (0, 24, 25, 499, 500, 501)] == [100, 100, 5, 5, 100, 5]
    assert wgan_schedule(2, burst=0)(0) == 2


def test_a_fixed_seed_gives_the_same_sample_grid(tmp_path):
    grids = []
    for _ in range(2):
        learn, cb = gan_learner(tmp_path, seed=3)
        learn.fit(1)
        grids.append(cb.grids[-1][1])
    assert grids[0].shape[0] == 3 and torch.equal(grids[0], grids[1])
    other, cb = gan_learner(tmp_path, seed=4)
    other.fit(1)
    assert not torch.equal(grids[0], cb.grids[-1][1])
    assert torch.equal(sample_grid(other.model, cb.fixed_noise), cb.grids[-1][1])


def test_validation_reports_the_critics_loss_and_save_load_round_trips(tmp_path):
    learn, cb = gan_learner(tmp_path)
    learn.fit(1)
    valid_loss = learn.recorder.last_metrics["valid_loss"]
    assert valid_loss == valid_loss  # a number: the critic's D(fake) - D(real) on held-out images
    learn.save("gan")
    before = sample_grid(learn.model, cb.fixed_noise)
    fresh, _ = gan_learner(tmp_path, seed=9)
    fresh.load("gan")
    assert torch.equal(sample_grid(fresh.model, cb.fixed_noise), before)


@pytest.mark.parametrize("clip", [0, -0.01])
def test_a_clip_value_that_is_not_positive_is_a_clear_error(clip):
    with pytest.raises(ValueError, match=f"clip > 0, not clip={clip}"):
        WGANCallback(clip=clip)


def test_the_callback_needs_a_gan(synth_learner):
    learn = synth_learner(cbs=[WGANCallback()])
    with pytest.raises(TypeError, match="gan.GAN"):
        learn.fit(1)


def test_frechet_distance_is_zero_for_the_same_images_and_grows_with_the_difference():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(100, 3, 16, 16, generator=g)
    assert abs(frechet_distance(real, real)) < 1e-6
    near, far = real * 0.9 + 0.05, real * 0.3
    assert 0 < frechet_distance(real, near) < frechet_distance(real, far)
