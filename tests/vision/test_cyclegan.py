"""Lesson 13b's CycleGAN, as the notebook defines it (its ``defs`` cells): the horse2zebra layout read from a tiny
fake archive through the registry, the generated sample, the networks' shapes, the losses, the image pool, and a
few training steps that must shrink the cycle loss."""

import hashlib
import io
import zipfile

import numpy as np
import pytest
import torch
from notebook_defs import load_defs
from PIL import Image
from torch import nn

from coursekit import datasets, registry, samples
from coursekit.samples.stripes import draw_shape_image, make_horse2zebra_sample

L = load_defs("lesson13b_cyclegan")
FOLDERS = {"train_a": "trainA", "train_b": "trainB", "test_a": "testA", "test_b": "testB"}


def image_bytes(colour, size=(20, 20), fmt="JPEG"):
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def fake_horse2zebra_zip():
    """A zip laid out as the real one: horse2zebra/{trainA,trainB,testA,testB}/ of JPEGs (and a stray file)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        domains = (("trainA", "red", 3), ("trainB", "white", 2), ("testA", "blue", 1), ("testB", "black", 2))
        for folder, colour, n in domains:
            for i in range(n):
                z.writestr(f"horse2zebra/{folder}/n0000000_{n - i}.jpg", image_bytes(colour))
        z.writestr("horse2zebra/trainA/Thumbs.db", b"not an image")
    return buf.getvalue()


def test_full_mode_reads_the_horse2zebra_layout_from_its_archive(data, server, monkeypatch, capsys):
    base, files, log = server
    archive = fake_horse2zebra_zip()
    files["/horse2zebra.zip"] = archive
    real = registry.DATASETS["horse2zebra"]
    fake = registry.DatasetInfo(
        "horse2zebra",
        f"{base}/horse2zebra.zip",
        size=len(archive),
        sha256=hashlib.sha256(archive).hexdigest(),
        folder=real.folder,
        lesson=13,
        layout=real.layout,
    )
    monkeypatch.setitem(datasets.DATASETS, "horse2zebra", fake)
    path = datasets.get_data("horse2zebra", mode="full")
    layout = datasets.layout("horse2zebra", "full")
    domains = {key: L.load_domain(path / layout[key], 16) for key in FOLDERS}
    assert {k: tuple(v.shape) for k, v in domains.items()} == {
        "train_a": (3, 3, 16, 16),
        "train_b": (2, 3, 16, 16),
        "test_a": (1, 3, 16, 16),
        "test_b": (2, 3, 16, 16),
    }
    assert all(v.dtype == torch.uint8 for v in domains.values())
    assert domains["train_a"][:, 0].float().mean() > 200 and domains["train_a"][:, 2].float().mean() < 60  # red
    assert domains["test_b"].float().mean() < 30 and domains["train_b"].float().mean() > 220
    capsys.readouterr()


def test_load_domain_reads_pngs_in_name_order_and_says_when_a_folder_holds_no_images(tmp_path):
    for name, colour in (("b.png", "white"), ("a.png", "black")):
        (tmp_path / name).write_bytes(image_bytes(colour, (10, 6), "PNG"))
    imgs = L.load_domain(tmp_path, 8)
    assert imgs.shape == (2, 3, 8, 8) and imgs[0].max() == 0 and imgs[1].min() == 255  # a.png first
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        L.load_domain(tmp_path / "empty", 8)


def test_registry_entry_has_the_2018_url_a_size_and_a_sha256_and_the_samples_layout():
    info = registry.DATASETS["horse2zebra"]
    assert info.url == "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/horse2zebra.zip"
    assert info.size == 116867962 and len(info.sha256) == 64 and info.lesson == 13
    assert info.layout == samples.SAMPLES["horse2zebra"].layout == FOLDERS


def test_sample_has_the_cyclegan_layout_and_the_same_seed_gives_the_same_images(tmp_path):
    make_horse2zebra_sample(tmp_path / "a", seed=3, n_train=5, n_test=2, size=32)
    make_horse2zebra_sample(tmp_path / "b", seed=3, n_train=5, n_test=2, size=32)
    for folder, n in (("trainA", 5), ("trainB", 5), ("testA", 2), ("testB", 2)):
        files = sorted((tmp_path / "a" / folder).glob("*.jpg"))
        assert len(files) == n and all(Image.open(p).size == (32, 32) for p in files)
        assert [p.read_bytes() for p in files] == [(tmp_path / "b" / folder / p.name).read_bytes() for p in files]


def test_striped_shapes_have_stripes_and_plain_ones_do_not():
    """The same shape, colour and background drawn plain and striped: the stripes darken it and add edges."""
    plain = np.asarray(draw_shape_image(np.random.default_rng(5), 64, striped=False, kind="square")).astype(float)
    striped = np.asarray(draw_shape_image(np.random.default_rng(5), 64, striped=True, kind="square")).astype(float)
    changed = np.abs(plain - striped).sum(-1) > 60  # the pixels the stripes turned dark
    assert 0.03 < changed.mean() < 0.3  # inside the shape only, about half of it
    assert striped.mean() < plain.mean()
    edges = [np.abs(np.diff(img, axis=1)).mean() for img in (plain, striped)]
    assert edges[1] > 2 * edges[0]


def test_generator_keeps_the_image_size_with_instance_norm_and_reflection_padding():
    G = L.ResnetGenerator(3, ngf=8, n_blocks=2, n_down=2)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = G(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    kinds = {type(m) for m in G.modules()}
    assert nn.InstanceNorm2d in kinds and nn.ReflectionPad2d in kinds and nn.BatchNorm2d not in kinds
    assert sum(isinstance(m, L.ResBlock) for m in G) == 2


def test_resblock_adds_its_body_to_the_input():
    block = L.ResBlock(4)
    x = torch.randn(1, 4, 6, 6)
    torch.testing.assert_close(block(x), x + block.body(x))


def test_patch_discriminator_scores_a_grid_of_patches():
    """With three layers, as in the paper, a 256-pixel image gets 30x30 scores of 70x70-pixel patches."""
    assert L.PatchDiscriminator(3, 8, n_layers=3)(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    assert L.PatchDiscriminator(3, 8, n_layers=2)(torch.zeros(2, 3, 32, 32)).shape == (2, 1, 6, 6)


def test_least_squares_losses_pull_real_towards_one_and_fake_towards_zero():
    ones, zeros = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    assert L.lsgan_loss(ones, True) == 0 and L.lsgan_loss(zeros, False) == 0
    assert L.lsgan_loss(zeros, True) == 1 and L.lsgan_loss(ones, False) == 1
    right, wrong = torch.ones(1, 3, 4, 4), -torch.ones(1, 3, 4, 4)
    D = lambda x: x.mean(1, keepdim=True)  # noqa: E731  a "discriminator" that scores an image by its mean
    assert L.discriminator_loss(D, right, torch.zeros_like(right)) == 0  # real scored 1, fake 0: perfect
    assert L.discriminator_loss(D, torch.zeros_like(right), right) == 1  # the other way round
    assert L.discriminator_loss(D, right, wrong) == 0.5  # fake scored -1: the square of the distance to 0, halved


def test_image_pool_returns_new_images_until_full_then_mixes_in_old_ones():
    pool = L.ImagePool(size=4, seed=0)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling up: every new image comes back
    later = torch.arange(100.0, 164.0).view(64, 1, 1, 1)
    out, new = pool.query(later).flatten().tolist(), later.flatten().tolist()
    swapped = [i for i in range(64) if out[i] != new[i]]
    assert 16 < len(swapped) < 48  # about half swapped for an older image...
    assert all(out[i] < 4 or out[i] in new[:i] for i in swapped)  # ...one seen before: the first four or a newer one
    assert len(pool.images) == 4
    x = torch.ones(2, 1, 1, 1, requires_grad=True)
    assert not L.ImagePool(0).query(x * 2).requires_grad  # no pool: the same images, detached


def test_training_steps_shrink_the_cycle_loss(one_thread, monkeypatch):
    """With the adversaries silenced (their loss is zero), what is left to learn is the cycle: two tiny generators
    must learn to undo each other within a few steps. Dropping the cycle term from the generators' loss, or
    comparing the reconstruction with the wrong picture, fails this."""
    monkeypatch.setattr(L, "lsgan_loss", lambda scores, real: (scores * 0).mean())
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    smooth = nn.functional.interpolate(torch.rand(32, 3, 3, 3, generator=g), size=12, mode="bilinear")
    a, b = (smooth[:16] * 255).to(torch.uint8), (255 - smooth[16:] * 128).to(torch.uint8)  # two kinds of colour fields
    G_AB, G_BA = L.ResnetGenerator(3, 8, 1, 1), L.ResnetGenerator(3, 8, 1, 1)
    D_A, D_B = L.PatchDiscriminator(3, 4, 1), L.PatchDiscriminator(3, 4, 1)
    losses, snaps = L.train_cyclegan(
        G_AB, G_BA, D_A, D_B, a, b, steps=40, bs=4, lr=3e-3, lambda_idt=0, seed=0, fixed_a=a[:2], snap_every=20
    )
    first, last = np.mean([d["cycle"] for d in losses[:5]]), np.mean([d["cycle"] for d in losses[-5:]])
    assert last < 0.65 * first, (first, last)
    assert [s for s, _ in snaps] == [20, 40] and snaps[0][1].shape == (2, 3, 12, 12)
    assert all(p.requires_grad for p in D_A.parameters())  # the discriminators are trainable again afterwards
