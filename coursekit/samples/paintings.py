"""Painting-like style images and cartoon content images: the offline sample ``style`` of lessons 13 and 14.

``make_style_sample`` writes ``content/*.jpg`` (cartoon cats and dogs from ``samples.cartoons``) and
``style/*.jpg``: paintings made of thick brush strokes in a strong palette that follow a flow field, of
three kinds: ``swirls`` (strokes circling a few vortices, as in a night sky), ``strokes`` (short
dabs along one wavy direction) and ``mosaic`` (broad blocks of colour with dark outlines). Each has
textures at several scales and a few dominant colours: what a Gram matrix picks up.
"""

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from coursekit.samples.cartoons import draw_animal, jpeg_bytes

PALETTES = [  # strong palettes, dark to light
    [(18, 32, 84), (32, 74, 160), (70, 130, 200), (240, 200, 60), (250, 240, 170)],  # night sky
    [(90, 20, 30), (200, 50, 40), (240, 120, 40), (250, 200, 80), (255, 245, 220)],  # fire
    [(20, 60, 40), (40, 120, 70), (120, 180, 60), (230, 220, 90), (250, 250, 230)],  # meadow
    [(40, 20, 70), (120, 40, 140), (220, 70, 150), (250, 160, 120), (255, 230, 200)],  # dusk
    [(10, 10, 10), (200, 30, 30), (30, 60, 180), (240, 210, 40), (245, 245, 240)],  # primary colours
]
KINDS = ("swirls", "strokes", "mosaic")


def flow_angle(kind, rng, w, h):
    """A function (x, y) -> stroke direction in radians for this painting ``kind``."""
    if kind == "swirls":
        centres = [
            (rng.uniform(0, w), rng.uniform(0, h), rng.choice([-1, 1]), rng.uniform(0.15, 0.4) * w)
            for _ in range(int(rng.integers(2, 5)))
        ]

        def angle(x, y):  # sum of vortices (tangent directions), each fading with distance
            vx = vy = 0.0
            for cx, cy, turn, r in centres:
                dx, dy = x - cx, y - cy
                weight = math.exp(-(dx * dx + dy * dy) / (2 * r * r))
                vx, vy = vx - turn * dy * weight, vy + turn * dx * weight
            return math.atan2(vy + 1e-3 * r, vx + 0.3 * r)  # a gentle left-to-right drift between vortices

        return angle
    base, wave, freq = rng.uniform(0, math.pi), rng.uniform(0.3, 1.0), rng.uniform(1, 4) / w
    return lambda x, y: base + wave * math.sin(2 * math.pi * freq * (x + y))


def draw_strokes(draw, rng, kind, palette, w, h, n, width, length):
    """``n`` brush strokes of about ``width`` x ``length`` px following the flow of ``kind``."""
    angle = flow_angle(kind, rng, w, h)
    for _ in range(n):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        colour = palette[int(rng.integers(len(palette)))]
        colour = tuple(int(np.clip(c + rng.integers(-18, 19), 0, 255)) for c in colour)
        points = [(x, y)]
        for _ in range(4):  # a stroke bends along the field in short segments
            a = angle(x, y)
            x, y = x + math.cos(a) * length / 4, y + math.sin(a) * length / 4
            points.append((x, y))
        draw.line(points, fill=colour, width=max(1, int(width * rng.uniform(0.6, 1.4))), joint="curve")


def draw_mosaic(draw, rng, palette, w, h):
    """Broad blocks of colour (random polygons) with dark outlines."""
    for _ in range(int(rng.integers(25, 45))):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.06, 0.18) * w
        n = int(rng.integers(4, 7))
        angles = np.sort(rng.uniform(0, 2 * math.pi, n))
        pts = [
            (cx + r * math.cos(a) * rng.uniform(0.6, 1.2), cy + r * math.sin(a) * rng.uniform(0.6, 1.2)) for a in angles
        ]
        draw.polygon(pts, fill=palette[int(rng.integers(1, len(palette)))], outline=palette[0], width=3)


def draw_painting(rng, w=256, h=256, kind=None, palette=None):
    """One painting-like RGB PIL image: a palette gradient ground under layers of brush strokes."""
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    if kind not in KINDS:
        raise ValueError(f"unknown painting kind {kind!r}; known: {', '.join(KINDS)}")
    palette = palette or PALETTES[int(rng.integers(len(PALETTES)))]
    t = np.linspace(0, 1, h)[:, None, None]
    ground = np.array(palette[0]) * (1 - t) + np.array(palette[2]) * t
    img = Image.fromarray(ground.repeat(w, axis=1).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    if kind == "mosaic":
        draw_mosaic(draw, rng, palette, w, h)
        draw_strokes(draw, rng, "strokes", palette, w, h, n=w * h // 200, width=w / 90, length=w / 20)
    else:  # coarse strokes first, then finer ones on top: texture at several scales
        scale = w / 256
        for n, width, length in ((250, 9, 40), (700, 5, 26), (1200, 3, 16)):
            draw_strokes(draw, rng, kind, palette, w, h, int(n * w * h / 256**2), width * scale, length * scale)
    return img.filter(ImageFilter.SMOOTH)


def make_style_sample(dest, seed=0, n_content=12, n_style=6, size=256):
    """Write ``dest/content/{cat,dog}_*.jpg`` (cartoons) and ``dest/style/<kind>_*.jpg`` (paintings), ``size`` px."""
    dest, rng = Path(dest), np.random.default_rng(seed)
    (dest / "content").mkdir(parents=True, exist_ok=True)
    (dest / "style").mkdir(parents=True, exist_ok=True)
    for i in range(n_content):
        kind = ("cat", "dog")[i % 2]
        img = draw_animal(rng, kind, size, size)
        (dest / "content" / f"{kind}_{i:02d}.jpg").write_bytes(jpeg_bytes(img, 92))
    for i in range(n_style):
        kind = KINDS[i % len(KINDS)]
        img = draw_painting(rng, size, size, kind, PALETTES[i % len(PALETTES)])
        (dest / "style" / f"{kind}_{i:02d}.jpg").write_bytes(jpeg_bytes(img, 92))
