"""Generated 32x32 images of ten classes, the offline look-alike of fast.ai's CIFAR-10 copy.

``make_cifar_sample`` writes ``train/<class>/*.png``, ``test/<class>/*.png`` and ``labels.txt`` (the class
names, one a line), the layout of ``cifar10.tgz``. The classes are shapes (disc, ring, square, triangle,
cross, pair of discs) and textures (stripes, checks, dots, zigzag); within each class the colours, size,
position, rotation, stroke width, background and noise all vary, and colour alone tells nothing, so a model
has to learn shapes: a linear model on pixels does poorly, depth and augmentation help.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from coursekit.samples.cartoons import rgb

CLASSES = ["disc", "ring", "square", "triangle", "cross", "pair", "stripes", "checks", "dots", "zigzag"]
SCALE = 3  # drawn at 3x, then shrunk with antialiasing: edges look like those of a photo, not pixel art


def contrasting(rng, other):
    """A random colour at least some distance from ``other``, so the object stays visible."""
    while True:
        c = rgb(rng)
        if sum(abs(a - b) for a, b in zip(c, other)) > 160:
            return c


def background(rng, w):
    """A two-colour gradient in a random direction with speckle noise."""
    a, b = np.array(rgb(rng)), np.array(rgb(rng))
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:w, 0:w] / w
    t = np.clip((np.cos(angle) * xx + np.sin(angle) * yy + 1) / 2, 0, 1)[..., None]
    arr = a * (1 - t) + b * t + rng.normal(0, rng.uniform(2, 10), (w, w, 1))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8)), tuple(int(v) for v in (a + b) / 2)


def polygon(cx, cy, r, n, angle):
    """The corners of a regular ``n``-gon."""
    return [(cx + r * np.cos(angle + 2 * np.pi * k / n), cy + r * np.sin(angle + 2 * np.pi * k / n)) for k in range(n)]


def draw_shape(draw, rng, kind, w, colour):
    """One object of class ``kind`` at a random place, size and angle."""
    r = w * rng.uniform(0.22, 0.36)
    cx, cy = rng.uniform(r, w - r), rng.uniform(r, w - r)
    angle, stroke = rng.uniform(0, 2 * np.pi), int(w * rng.uniform(0.05, 0.1))
    if kind == "disc":
        draw.ellipse([cx - r, cy - r * rng.uniform(0.8, 1.0), cx + r, cy + r], fill=colour)
    elif kind == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=stroke)
    elif kind == "square":
        draw.polygon(polygon(cx, cy, r * 1.1, 4, angle), fill=colour)
    elif kind == "triangle":
        draw.polygon(polygon(cx, cy, r * 1.2, 3, angle), fill=colour)
    elif kind == "cross":
        for a in (angle, angle + np.pi / 2):
            dx, dy = r * np.cos(a), r * np.sin(a)
            draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=colour, width=stroke + 2)
    elif kind == "pair":
        s = r * 0.55
        for side in (-1, 1):
            x, y = cx + side * s * np.cos(angle), cy + side * s * np.sin(angle)
            draw.ellipse([x - s * 0.8, y - s * 0.8, x + s * 0.8, y + s * 0.8], fill=colour)


def draw_texture(img, rng, kind, w, colour):
    """A pattern of class ``kind`` over the whole image or a large random part of it."""
    yy, xx = np.mgrid[0:w, 0:w].astype(np.float64)
    period = w * rng.uniform(0.12, 0.25)
    angle = rng.uniform(0, np.pi)
    u = np.cos(angle) * xx + np.sin(angle) * yy
    v = -np.sin(angle) * xx + np.cos(angle) * yy
    if kind == "stripes":
        mask = np.sin(2 * np.pi * u / period) > 0
    elif kind == "checks":
        mask = (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    elif kind == "zigzag":
        tri = np.abs((v / period) % 2 - 1) * period * 0.8  # a triangle wave across the stripes
        mask = np.sin(2 * np.pi * (u + tri) / (period * 1.4)) > 0.3
    else:  # dots: a jittered grid of small discs
        cell = period * 1.3
        fu, fv = (u / cell) % 1 - 0.5, (v / cell) % 1 - 0.5
        mask = fu**2 + fv**2 < rng.uniform(0.05, 0.1)
    if rng.random() < 0.25:  # sometimes only part of the image: texture can be local, like an object
        r = w * rng.uniform(0.35, 0.5)
        cx, cy = rng.uniform(r, w - r), rng.uniform(r, w - r)
        mask &= (xx - cx) ** 2 + (yy - cy) ** 2 < r**2
    arr = np.asarray(img).copy()
    arr[mask] = colour
    return Image.fromarray(arr)


def draw_image(rng, kind, size=32):
    """One ``size`` x ``size`` RGB image of class ``kind``."""
    w = size * SCALE
    img, mean_bg = background(rng, w)
    colour = contrasting(rng, mean_bg)
    if kind in ("stripes", "checks", "dots", "zigzag"):
        img = draw_texture(img, rng, kind, w, colour)
    else:
        draw = ImageDraw.Draw(img)
        for _ in range(rng.integers(0, 3)):  # small clutter of any colour: not the class
            x, y, s = rng.uniform(0, w), rng.uniform(0, w), w * rng.uniform(0.04, 0.08)
            draw.rectangle([x, y, x + s, y + s], fill=rgb(rng))
        draw_shape(draw, rng, kind, w, colour)
    if rng.random() < 0.2:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    return img.resize((size, size), Image.Resampling.LANCZOS)


def make_cifar_sample(dest, seed=0, n_train=100, n_test=30, size=32):
    """Write ``n_train`` and ``n_test`` PNGs per class into ``dest/{train,test}/<class>/`` and ``labels.txt``."""
    dest = Path(dest)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for kind in CLASSES:
            folder = dest / split / kind
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                draw_image(rng, kind, size).save(folder / f"{i:05d}_{kind}.png")
    (dest / "labels.txt").write_text("\n".join(CLASSES) + "\n")
    return dest
