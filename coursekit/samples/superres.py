"""Generated pictures in the Imagenette layout, the offline look-alike of the photos lesson 14's super resolution
learns from: ``train/<wnid>/*.JPEG`` and ``val/<wnid>/*.JPEG``. Only the full-size pictures are stored: the
low-resolution inputs are made from them by ``coursekit.vision.superres``.

What super resolution can learn is sharp structure that a blur loses: each picture is a cartoon animal
scene (``cartoons``) with extra edges, stripes, lettering-like marks and fine grids, kept clean (little
noise: noise cannot be recovered and would only hide what the model learns).
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from coursekit.samples.cartoons import draw_background, draw_cat, draw_clutter, draw_dog, jpeg_bytes, rgb

WNIDS = ["n01440764", "n02102040"]  # two of Imagenette's folders (tench, English springer)


def draw_detail(rng, draw, w, h):
    """Things with fine structure: striped panels, thin grids, rows of small marks like text."""
    for _ in range(int(rng.integers(1, 4))):
        x, y = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        pw, ph = int(rng.integers(16, w // 2)), int(rng.integers(12, h // 3))
        colour, other = rgb(rng), rgb(rng)
        kind = rng.integers(3)
        if kind == 0:  # stripes
            step = int(rng.integers(3, 7))
            for k in range(0, pw, step):
                draw.line([x + k, y, x + k + int(rng.integers(-4, 5)), y + ph], fill=colour, width=1 + (k % 2))
        elif kind == 1:  # a grid
            draw.rectangle([x, y, x + pw, y + ph], fill=other)
            step = int(rng.integers(4, 9))
            for k in range(0, pw, step):
                draw.line([x + k, y, x + k, y + ph], fill=colour)
            for k in range(0, ph, step):
                draw.line([x, y + k, x + pw, y + k], fill=colour)
        else:  # lines of small marks, like print
            for row in range(y, y + ph, 7):
                cx = x
                while cx < x + pw:
                    cw = int(rng.integers(2, 5))
                    draw.rectangle([cx, row, cx + cw, row + 4], fill=colour)
                    cx += cw + int(rng.integers(1, 4)) + (5 if rng.random() < 0.15 else 0)


def draw_picture(rng, kind, w, h):
    """One clean scene: background, clutter, fine detail, and a cartoon cat or dog."""
    img = draw_background(rng, w, h)
    draw = ImageDraw.Draw(img)
    draw_clutter(rng, draw, w, h, int(rng.integers(2, 6)))
    draw_detail(rng, draw, w, h)
    r = min(w, h) * rng.uniform(0.15, 0.25)
    cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.35, 0.6)
    (draw_cat if kind == 0 else draw_dog)(draw, rng, cx, cy, r, rgb(rng))
    arr = np.asarray(img).astype(np.float32) + rng.normal(0, 1.5, (h, w, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def make_superres_sample(dest, seed=0, n_train=48, n_valid=16, size=(160, 200)):
    """Write ``n_train`` and ``n_valid`` pictures per class (sides between ``size[0]`` and ``size[1]`` px) as
    high-quality JPEGs into ``dest/{train,val}/<wnid>/``."""
    dest, rng = Path(dest), np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_valid)):
        for k, wnid in enumerate(WNIDS):
            folder = dest / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                w, h = (int(v) for v in rng.integers(size[0], size[1] + 1, 2))
                img = draw_picture(rng, k, w, h)
                (folder / f"{wnid}_{i:05d}.JPEG").write_bytes(jpeg_bytes(img, 95))
