"""Generated cars with their masks in the Carvana layout, the offline look-alike of the 2018 lesson-14 data.

Carvana photographs each car on a turntable in a studio from 16 angles: ``train/<car>_<nn>.jpg`` (1918x1280)
with ``train_masks/<car>_<nn>_mask.gif`` (palette GIF, 1 = car, 0 = background). Here every car is a body,
a cabin with windows and wheels, drawn from a few angles (seen from the side it is long, from the front
short) on a studio backdrop with a floor, a shadow and reflections, so the edge is not given away by colour.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from coursekit.samples.cartoons import jpeg_bytes, rgb

PAINT = [(200, 30, 30), (30, 60, 160), (230, 230, 230), (25, 25, 30), (150, 150, 155), (60, 120, 60), (220, 180, 40)]


def draw_backdrop(rng, w, h):
    """A studio: a light wall fading into a floor, with soft noise."""
    wall, floor = np.array(rgb(rng, (200, 200, 205), 25)), np.array(rgb(rng, (150, 150, 150), 30))
    horizon = h * rng.uniform(0.45, 0.6)
    t = np.clip((np.arange(h) - horizon) / (h * 0.15), 0, 1)[:, None, None]
    arr = (wall * (1 - t) + floor * t).repeat(w, axis=1)
    return Image.fromarray(arr.astype(np.uint8))


def draw_car(rng, w, h, paint, angle):
    """The car on its own layer and its mask: ``angle`` 0 is the side view, 1 the front view."""
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    mask = Image.new("L", (w, h), 0)
    d, dm = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
    length = w * (0.75 - 0.4 * angle) * rng.uniform(0.9, 1.05)
    height = h * rng.uniform(0.22, 0.28)
    cx, base = w * rng.uniform(0.45, 0.55), h * rng.uniform(0.72, 0.8)
    x0, x1, top = cx - length / 2, cx + length / 2, base - height
    cab0, cab1 = x0 + length * rng.uniform(0.2, 0.3), x1 - length * rng.uniform(0.2, 0.35)
    roof = top - height * rng.uniform(0.6, 0.8)
    body = [
        (x0, base - height * 0.2),
        (x0 + length * 0.05, top),
        (x1 - length * 0.03, top + height * 0.1),
        (x1, base - height * 0.2),
        (x1, base),
        (x0, base),
    ]
    cabin = [(cab0, top), (cab0 + (cab1 - cab0) * 0.2, roof), (cab1 - (cab1 - cab0) * 0.15, roof), (cab1, top)]
    r = height * rng.uniform(0.32, 0.4)
    wheels = (
        [(x0 + length * 0.2, base), (x1 - length * 0.2, base)]
        if angle < 0.5
        else [(x0 + length * 0.15, base), (x1 - length * 0.15, base)]
    )
    for shape in (body, cabin):
        d.polygon(shape, fill=paint + (255,))
        dm.polygon(shape, fill=1)
    glass = rgb(rng, (70, 90, 110), 20) + (255,)
    inset = (cab1 - cab0) * 0.1
    d.polygon(
        [
            (cab0 + inset, top - 2),
            (cab0 + inset * 2.5, roof + 3),
            (cab1 - inset * 2, roof + 3),
            (cab1 - inset, top - 2),
        ],
        fill=glass,
    )
    for wx, wy in wheels:
        d.ellipse([wx - r, wy - r, wx + r, wy + r], fill=(20, 20, 22, 255))
        hub = rgb(rng, (170, 170, 175), 20) + (255,)
        d.ellipse([wx - r * 0.45, wy - r * 0.45, wx + r * 0.45, wy + r * 0.45], fill=hub)
        dm.ellipse([wx - r, wy - r, wx + r, wy + r], fill=1)
    shine = tuple(int(min(255, c + 60)) for c in paint) + (255,)  # a highlight along the body
    d.line(
        [(x0 + length * 0.08, top + height * 0.3), (x1 - length * 0.08, top + height * 0.35)],
        fill=shine,
        width=max(1, int(height * 0.08)),
    )
    return layer, mask, (x0, x1, base, r)


def draw_photo(rng, paint, angle, w, h):
    """One studio photo of a car and its 0/1 mask (an 'L' image)."""
    img = draw_backdrop(rng, w, h)
    layer, mask, (x0, x1, base, r) = draw_car(rng, w, h, paint, angle)
    ImageDraw.Draw(img).ellipse([x0 - 4, base + r * 0.6, x1 + 4, base + r * 1.3], fill=rgb(rng, (90, 90, 95), 10))
    if rng.random() < 0.5:  # the turntable shows the car from the other side
        layer, mask = layer.transpose(Image.FLIP_LEFT_RIGHT), mask.transpose(Image.FLIP_LEFT_RIGHT)
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    img.paste(layer, (0, 0), layer)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    arr = np.asarray(img).astype(np.float32) + rng.normal(0, rng.uniform(2, 6), (h, w, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), mask


def save_gif_mask(mask, file):
    """A palette GIF holding 0 (black, background) and 1 (white, car), as Carvana stores its masks."""
    m = mask.convert("P")
    m.putpalette([0, 0, 0, 255, 255, 255] + [0, 0, 0] * 254)
    m.save(file, "GIF")


def make_carvana_sample(dest, seed=0, n_cars=30, n_views=4, size=(144, 96)):
    """Write ``n_cars`` x ``n_views`` photos to ``dest/train`` and their GIF masks to ``dest/train_masks``, and
    ``train_masks.csv``/``metadata.csv`` naming them (the masks' run-length column is left empty)."""
    dest, rng = Path(dest), np.random.default_rng(seed)
    (dest / "train").mkdir(parents=True, exist_ok=True)
    (dest / "train_masks").mkdir(parents=True, exist_ok=True)
    w, h = size
    rows = []
    for c in range(n_cars):
        car_id = f"{rng.integers(16**11):012x}"  # Carvana ids are 12 hex digits
        paint = rgb(rng, PAINT[rng.integers(len(PAINT))], 25)
        for v in range(n_views):
            img, mask = draw_photo(rng, paint, v / max(1, n_views - 1), w, h)
            name = f"{car_id}_{v + 1:02d}"
            (dest / "train" / f"{name}.jpg").write_bytes(jpeg_bytes(img, rng.integers(80, 95)))
            save_gif_mask(mask, dest / "train_masks" / f"{name}_mask.gif")
            rows.append(name)
    (dest / "train_masks.csv").write_text("img,rle_mask\n" + "".join(f"{n}.jpg,\n" for n in rows))
    (dest / "metadata.csv").write_text("id,make\n" + "".join(f"{n[:12]},generated\n" for n in rows[::n_views]))
