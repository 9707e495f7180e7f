"""Plain and striped shapes, unpaired: the offline look-alike of ``horse2zebra`` (lesson 13's CycleGAN).

``make_horse2zebra_sample`` writes the CycleGAN layout, ``trainA/``, ``trainB/``, ``testA/`` and ``testB/`` of
JPEGs, as the real archive has them. Domain A (the "horses"): one shape (a disc, a square or an ellipse) of a
plain colour on a field-and-sky gradient. Domain B (the "zebras"): the same kinds of shapes, colours and
backgrounds, with dark stripes across the shape. The two domains are drawn independently (no image of A has a
partner in B), so a model can only learn the translation from the two piles, as CycleGAN does.
"""

import colorsys
import math
from pathlib import Path

import numpy as np
from PIL import Image

from coursekit.samples.cartoons import jpeg_bytes

KINDS = ("disc", "square", "ellipse")
STRIPE = np.array([25.0, 25.0, 30.0])  # the stripes' colour: near black, as on a zebra
SUPER = 4  # drawn at 4x the size, then shrunk: soft edges


def shape_mask(rng, kind, n):
    """An (n, n) float mask in [0, 1] of one shape ``kind`` at a random place, size and (ellipse) tilt."""
    yy, xx = np.mgrid[0:n, 0:n] + 0.5
    r = n * rng.uniform(0.22, 0.34)
    cx, cy = rng.uniform(r + 1, n - r - 1, size=2)
    dx, dy = xx - cx, yy - cy
    if kind == "disc":
        inside = np.hypot(dx, dy) <= r
    elif kind == "square":
        inside = np.maximum(abs(dx), abs(dy)) <= 0.85 * r
    elif kind == "ellipse":
        a = rng.uniform(0, math.pi)
        u, v = dx * math.cos(a) + dy * math.sin(a), -dx * math.sin(a) + dy * math.cos(a)
        inside = (u / r) ** 2 + (v / (0.6 * r)) ** 2 <= 1
    else:
        raise ValueError(f"unknown shape kind {kind!r}; known: {', '.join(KINDS)}")
    return inside.astype(float)


def stripes(rng, n, period):
    """An (n, n) mask, 1 on dark stripes about ``period`` px apart, near vertical, at a random tilt and phase."""
    yy, xx = np.mgrid[0:n, 0:n] + 0.5
    a = rng.uniform(-0.4, 0.4)
    t = (xx * math.cos(a) + yy * math.sin(a)) / period + rng.uniform(0, 1)
    return ((t % 1.0) < 0.5).astype(float)


def draw_shape_image(rng, size=32, striped=False, kind=None):
    """One RGB PIL image ``size`` px square: a plain (or, ``striped``, a striped) shape on a field and sky."""
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    n = size * SUPER
    sky, grass = rng.uniform([120, 170, 200], [190, 220, 250]), rng.uniform([60, 120, 40], [130, 180, 90])
    horizon = rng.uniform(0.35, 0.6) * n
    t = np.clip((np.arange(n)[:, None, None] - horizon) / (0.08 * n) + 0.5, 0, 1)  # sky above, grass below
    img = (sky * (1 - t) + grass * t).repeat(n, axis=1)
    colour = 255 * np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.3, 0.9), rng.uniform(0.75, 1.0)))
    mask = shape_mask(rng, kind, n)[..., None]
    body = np.broadcast_to(colour, img.shape)
    if striped:
        dark = stripes(rng, n, period=n / 8)[..., None]
        body = body * (1 - dark) + STRIPE * dark
    img = img * (1 - mask) + body * mask
    small = Image.fromarray(img.round().clip(0, 255).astype(np.uint8)).resize((size, size), Image.BOX)
    return small


def make_horse2zebra_sample(dest, seed=0, n_train=400, n_test=64, size=32):
    """Write ``dest/{trainA,trainB,testA,testB}/*.jpg``: plain shapes in A, striped shapes in B, ``size`` px."""
    dest, rng = Path(dest), np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for domain, striped, prefix in (("A", False, "n02381460"), ("B", True, "n02391049")):  # horse, zebra wnids
            folder = dest / f"{split}{domain}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = draw_shape_image(rng, size, striped)
                (folder / f"{prefix}_{i:04d}.jpg").write_bytes(jpeg_bytes(img, 95))
