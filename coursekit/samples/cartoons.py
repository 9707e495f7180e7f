"""Cartoon cats and dogs, the offline look-alike of ``dogscats``, drawn with numpy and PIL.

``make_dogscats_sample`` draws cartoon cats and dogs into ``train/{cats,dogs}`` and ``valid/{cats,dogs}``
as JPEGs, like the 2018 ``dogscats`` download: the data of lesson 1, of the image loader tests and of the
benchmarks. What tells them apart is what tells real ones apart: slit-pupilled eyes and a small pink nose vs
round dark eyes and a black nose always, and pointed ears and whiskers vs floppy ears and a muzzle usually, not
always; everything else (fur colour, size, pose, background, clutter, noise) varies in both classes, so a model
has something to learn. ``rgb`` (a random colour near a base) also colours the
other image samples (``samples.vision``).
"""

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

FUR = [
    (230, 140, 60),
    (90, 70, 60),
    (240, 235, 225),
    (40, 40, 45),
    (170, 150, 130),
    (200, 170, 110),
    (130, 120, 125),
    (120, 80, 40),
]


def rgb(rng, base=None, jitter=30):
    """A colour near ``base`` (or any colour)."""
    base = np.array(base if base is not None else rng.integers(0, 256, 3))
    return tuple(int(v) for v in np.clip(base + rng.integers(-jitter, jitter + 1, 3), 0, 255))


def draw_background(rng, w, h):
    """A vertical gradient between two random colours, with a floor line sometimes."""
    top, bottom = np.array(rgb(rng)), np.array(rgb(rng))
    t = np.linspace(0, 1, h)[:, None, None]
    arr = (top * (1 - t) + bottom * t).repeat(w, axis=1)
    img = Image.fromarray(arr.astype(np.uint8))
    if rng.random() < 0.5:
        ImageDraw.Draw(img).rectangle([0, int(h * rng.uniform(0.6, 0.85)), w, h], fill=rgb(rng))
    return img


def draw_clutter(rng, draw, w, h, n):
    """Random shapes and lines: things in the room that are neither cat nor dog."""
    for _ in range(n):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        s = rng.uniform(5, w / 5)
        colour = rgb(rng)
        kind = rng.integers(3)
        if kind == 0:
            draw.rectangle([x, y, x + s, y + s * rng.uniform(0.3, 1.5)], fill=colour)
        elif kind == 1:
            draw.ellipse([x, y, x + s, y + s], outline=colour, width=int(rng.integers(1, 4)))
        else:
            draw.line(
                [x, y, x + rng.uniform(-w / 2, w / 2), y + rng.uniform(-h / 2, h / 2)],
                fill=colour,
                width=int(rng.integers(1, 4)),
            )


def draw_body(draw, rng, cx, cy, r, fur):
    """An oval body and a tail below/behind the head."""
    bw, bh = r * rng.uniform(1.2, 1.7), r * rng.uniform(0.8, 1.1)
    by = cy + r * 1.3
    draw.ellipse([cx - bw, by - bh, cx + bw, by + bh], fill=fur)
    side = rng.choice([-1, 1])
    draw.line(
        [cx + side * bw * 0.8, by, cx + side * bw * 1.4, by - bh * rng.uniform(0.2, 1.2)],
        fill=fur,
        width=max(2, int(r * 0.25)),
    )


CAT_EYES = [(120, 170, 60), (210, 180, 40), (200, 130, 40), (90, 150, 210)]  # green, yellow, amber, blue
DOG_EYES = [(60, 40, 20), (100, 60, 25), (35, 25, 20)]


def draw_eyes(draw, rng, cx, cy, r, slit):
    """Two eyes; cats' are almond with a slit pupil, dogs' round and dark with a highlight."""
    iris = rgb(rng, CAT_EYES[rng.integers(len(CAT_EYES))] if slit else DOG_EYES[rng.integers(len(DOG_EYES))], 20)
    gap = rng.uniform(0.32, 0.42)
    for side in (-1, 1):
        ex, ey = cx + side * r * gap, cy - r * 0.1
        if slit:
            draw.ellipse([ex - r * 0.2, ey - r * 0.12, ex + r * 0.2, ey + r * 0.12], fill=iris, outline=(0, 0, 0))
            draw.ellipse([ex - r * 0.04, ey - r * 0.12, ex + r * 0.04, ey + r * 0.12], fill=(0, 0, 0))
        else:
            draw.ellipse([ex - r * 0.13, ey - r * 0.13, ex + r * 0.13, ey + r * 0.13], fill=iris)
            draw.ellipse([ex - r * 0.07, ey - r * 0.07, ex + r * 0.07, ey + r * 0.07], fill=(10, 8, 5))
            draw.ellipse([ex - r * 0.05, ey - r * 0.09, ex + r * 0.01, ey - r * 0.03], fill=(255, 255, 255))


def draw_markings(draw, rng, cx, cy, r, fur):
    """Coat markings that both species have (so none of them gives the class away): tabby stripes on the
    forehead, a pale blaze down the face, or a dark patch over one eye."""
    kind = rng.choice(["none", "stripes", "blaze", "patch"], p=[0.4, 0.2, 0.2, 0.2])
    dark, pale = rgb(rng, np.array(fur) * 0.55, 10), rgb(rng, (240, 235, 225), 10)
    if kind == "stripes":
        for dx in (-0.22, 0, 0.22):
            draw.line(
                [cx + dx * r, cy - r * 0.8, cx + dx * r * 0.6, cy - r * 0.45], fill=dark, width=max(2, int(r * 0.07))
            )
    elif kind == "blaze":
        draw.polygon(
            [
                (cx - r * 0.12, cy - r * 0.75),
                (cx + r * 0.12, cy - r * 0.75),
                (cx + r * 0.3, cy + r * 0.7),
                (cx - r * 0.3, cy + r * 0.7),
            ],
            fill=pale,
        )
    elif kind == "patch":
        ex = cx + rng.choice([-1, 1]) * r * 0.38
        draw.ellipse([ex - r * 0.3, cy - r * 0.42, ex + r * 0.3, cy + r * 0.15], fill=dark)


def pointed_ears(draw, rng, cx, cy, r, fur):
    """Two upright triangles with a pink inside: a cat's ears (and a few dogs')."""
    inner = rgb(rng, (240, 170, 170), 15)
    for side in (-1, 1):
        base1, base2 = (cx + side * r * 0.95, cy - r * 0.25), (cx + side * r * 0.2, cy - r * 0.85)
        tip = (cx + side * r * rng.uniform(0.7, 0.95), cy - r * rng.uniform(1.45, 1.75))
        draw.polygon([base1, base2, tip], fill=fur)
        draw.polygon(
            [
                (base1[0] * 0.8 + tip[0] * 0.2, base1[1] * 0.6 + tip[1] * 0.4),
                (base2[0] * 0.8 + tip[0] * 0.2, base2[1] * 0.6 + tip[1] * 0.4),
                tip,
            ],
            fill=inner,
        )


def floppy_ears(draw, rng, cx, cy, r, fur):
    """Two long darker ovals hanging down the sides of the head: a dog's ears (and a folded-eared cat's)."""
    ear = rgb(rng, np.array(fur) * 0.7, 20)
    ear_w, ear_len = r * rng.uniform(0.25, 0.38), r * rng.uniform(0.4, 1.0)
    for side in (-1, 1):
        ex = cx + side * r * rng.uniform(0.75, 0.9)
        draw.ellipse([ex - ear_w, cy - r * 0.8, ex + ear_w, cy + ear_len], fill=ear)


def draw_muzzle(draw, rng, cx, cy, r, fur):
    """A paler oval round the mouth: every dog has one, and some cats."""
    muzzle = rgb(rng, np.array(fur) * 0.5 + 120, 15)
    my = cy + r * 0.35
    draw.ellipse([cx - r * 0.45, my - r * 0.3, cx + r * 0.45, my + r * 0.35], fill=muzzle)


def draw_whiskers(draw, cx, ny, r, fur):
    for side in (-1, 1):
        for k in (-1, 0, 1):
            draw.line(
                [cx + side * r * 0.2, ny + r * 0.08, cx + side * r * 1.15, ny + k * r * 0.18],
                fill=(250, 250, 250) if sum(fur) < 300 else (40, 40, 40),
                width=1,
            )


def draw_cat(draw, rng, cx, cy, r, fur, pointed=True, muzzle=False, whiskers=True):
    """Pointed triangular ears, a round-ish face, almond eyes, a small pink nose and whiskers. A cat that is
    not typical (``pointed=False``: folded ears; ``muzzle``; no ``whiskers``) keeps its eyes and nose."""
    (pointed_ears if pointed else floppy_ears)(draw, rng, cx, cy, r, fur)
    fw = r * rng.uniform(0.85, 1.0)  # face width: overlaps the dogs' range, so it is no give-away
    draw.ellipse([cx - fw, cy - r * 0.9, cx + fw, cy + r * 0.85], fill=fur)
    draw_markings(draw, rng, cx, cy, r, fur)
    draw_eyes(draw, rng, cx, cy, r, slit=True)
    if muzzle:
        draw_muzzle(draw, rng, cx, cy, r, fur)
    ny = cy + r * 0.25
    draw.polygon([(cx - r * 0.1, ny), (cx + r * 0.1, ny), (cx, ny + r * 0.1)], fill=(235, 120, 140))
    draw.line([cx, ny + r * 0.1, cx, ny + r * 0.22], fill=(30, 30, 30), width=max(1, int(r * 0.04)))
    if whiskers:
        draw_whiskers(draw, cx, ny, r, fur)


def draw_dog(draw, rng, cx, cy, r, fur, pointed=False, muzzle=True, whiskers=False):
    """Long floppy ears hanging down, a big muzzle with a round black nose, sometimes a tongue. A dog that is
    not typical (``pointed`` ears; no ``muzzle``; ``whiskers``) keeps its eyes and nose."""
    (pointed_ears if pointed else floppy_ears)(draw, rng, cx, cy, r, fur)
    fw = r * rng.uniform(0.78, 0.92)
    draw.ellipse([cx - fw, cy - r * 0.95, cx + fw, cy + r * 0.8], fill=fur)
    draw_markings(draw, rng, cx, cy, r, fur)
    draw_eyes(draw, rng, cx, cy - r * 0.1, r, slit=False)
    if muzzle:
        draw_muzzle(draw, rng, cx, cy, r, fur)
    my = cy + r * 0.35
    draw.ellipse([cx - r * 0.18, my - r * 0.25, cx + r * 0.18, my], fill=(15, 15, 15))
    if rng.random() < 0.5:
        draw.ellipse([cx - r * 0.12, my + r * 0.15, cx + r * 0.12, my + r * 0.55], fill=(230, 90, 110))
    draw.line([cx - r * 0.2, my + r * 0.2, cx + r * 0.2, my + r * 0.2], fill=(30, 30, 30), width=max(1, int(r * 0.04)))
    if whiskers:
        draw_whiskers(draw, cx, cy + r * 0.25, r, fur)


def draw_occluder(rng, draw, cx, cy, r, w, h):
    """Something in front of the animal (a cushion, a box, a plant) hiding up to a third of its head."""
    colour = rgb(rng)
    if rng.random() < 0.5:  # from the bottom edge up to the chin or mouth
        top = cy + r * rng.uniform(0.2, 0.7)
        draw.rectangle([cx + r * rng.uniform(-2.5, -0.5), top, cx + r * rng.uniform(0.5, 2.5), h], fill=colour)
    else:  # from a side edge over one cheek
        side = rng.choice([-1, 1])
        edge = cx + side * r * rng.uniform(0.4, 0.8)
        x0, x1 = sorted([edge, 0 if side < 0 else w])
        draw.ellipse([x0 - r * 0.3, cy - r * 1.2, x1 + r * 0.3, cy + r * 2], fill=colour)


def draw_animal(rng, kind, w, h, typical=1.0, across=(0.3, 0.7), fur=None, cues=None):
    """One cartoon ``kind`` ('cat' or 'dog') at a random place, size and pose on a busy background.

    ``typical`` is the chance that each of three cues (ear shape, muzzle, whiskers) is the species' own; below 1
    some cats have folded ears or a muzzle and some dogs pointed ears or whiskers, so only the eyes and the nose
    always give the class away. The head's centre lies between the fractions ``across`` of the width. A breed
    (``samples.breeds``) fixes the colour the ``fur`` varies around and the ``cues`` (``pointed``, ``muzzle``,
    ``whiskers``) instead.
    """
    img = draw_background(rng, w, h)
    draw = ImageDraw.Draw(img)
    draw_clutter(rng, draw, w, h, int(rng.integers(0, 6)))
    # the animal is drawn on its own layer so it can be rotated and flipped as a whole
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ld = ImageDraw.Draw(layer)
    r = min(w, h) * rng.uniform(0.16, 0.3)
    cx, cy = w * rng.uniform(*across), h * rng.uniform(0.35, 0.6)
    fur = rgb(rng, FUR[rng.integers(len(FUR))] if fur is None else fur, 20)
    if rng.random() < 0.6:
        draw_body(ld, rng, cx, cy, r, fur)
    cat = kind == "cat"
    if cues is None:
        own = (True, True, True) if typical >= 1 else tuple(rng.random(3) < typical)  # ears, muzzle, whiskers
        cues = dict(pointed=cat == own[0], muzzle=cat != own[1], whiskers=cat == own[2])
    (draw_cat if cat else draw_dog)(ld, rng, cx, cy, r, fur, **cues)
    layer = layer.rotate(rng.uniform(-20, 20), center=(cx, cy), resample=Image.BILINEAR)
    if rng.random() < 0.5:
        layer = layer.transpose(Image.FLIP_LEFT_RIGHT)
        cx = w - cx  # the animal's centre moved with the flip
    img.paste(layer, (0, 0), layer)
    if rng.random() < 0.2:
        draw_occluder(rng, ImageDraw.Draw(img), cx, cy, r, w, h)
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    arr = np.asarray(img).astype(np.float32) + rng.normal(0, rng.uniform(2, 12), (h, w, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def jpeg_bytes(img, quality):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


def make_dogscats_sample(
    dest, seed=0, n_train=200, n_valid=150, height=(110, 170), aspect=(1.0, 1.7), typical=0.75, across=(0.15, 0.85)
):
    """Write ``n_train``/``n_valid`` cartoon cats and as many dogs per split: ``dest/{train,valid}/{cats,dogs}``.

    The defaults make lesson 1's sample hard enough for each step of its recipe to show: each of ears, muzzle and
    whiskers is the species' own only ``typical`` of the time, so the small eyes and nose decide; images are up to
    ``aspect`` times wider than high and the animal sits anywhere between the fractions ``across`` of the width,
    so a centre crop sometimes cuts part of it off. 300 validation images make one image a third of a point.
    """
    dest = Path(dest)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("valid", n_valid)):
        for kind in ("cat", "dog"):
            folder = dest / split / f"{kind}s"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h = int(rng.integers(height[0], height[1] + 1))
                w = int(h * rng.uniform(*aspect))
                img = draw_animal(rng, kind, w, h, typical, across)
                (folder / f"{kind}.{i}.jpg").write_bytes(jpeg_bytes(img, rng.integers(70, 95)))
