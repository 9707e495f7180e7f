"""Scenes with several objects and their boxes: the offline look-alike of Pascal VOC 2007 (lessons 8 and 9).

Each image holds one to four objects of six kinds (cartoon cats and dogs from ``cartoons``, and balls, cars,
trees and houses) at varied sizes and places, some overlapping and partly hidden, on a cluttered background.
Every object is drawn on its own transparent layer, so its box is read from the pixels it covers: the boxes
are exact (the whole object, also where another object hides part of it, as VOC annotates).

Written in the fast.ai 2018 layout: ``pascal_train2007.json`` and ``pascal_val2007.json`` (COCO layout:
``images``, ``annotations`` with ``bbox`` [x, y, w, h], ``categories``) next to
``VOCdevkit/VOC2007/JPEGImages/<id>.jpg``.
"""

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from coursekit.samples.cartoons import (
    FUR,
    draw_background,
    draw_body,
    draw_cat,
    draw_clutter,
    draw_dog,
    jpeg_bytes,
    rgb,
)

CLASSES = ("cat", "dog", "ball", "car", "tree", "house")
IMAGES = "VOCdevkit/VOC2007/JPEGImages"
TRAIN_JSON, VALID_JSON = "pascal_train2007.json", "pascal_val2007.json"


def draw_ball(d, rng, cx, cy, r):
    """A ball: a disc with a band or spots and a highlight."""
    r *= 0.8
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rgb(rng), outline=(20, 20, 20))
    if rng.random() < 0.5:
        d.chord([cx - r, cy - r * 0.35, cx + r, cy + r * 0.35], 0, 360, fill=rgb(rng))
    else:
        for _ in range(3):
            sx, sy = cx + rng.uniform(-0.5, 0.5) * r, cy + rng.uniform(-0.5, 0.5) * r
            d.ellipse([sx - r * 0.18, sy - r * 0.18, sx + r * 0.18, sy + r * 0.18], fill=rgb(rng))
    d.ellipse([cx - r * 0.55, cy - r * 0.6, cx - r * 0.25, cy - r * 0.3], fill=(250, 250, 250))


def draw_car(d, rng, cx, cy, r):
    """A car seen from the side: a long body, a cabin with windows, two dark wheels."""
    w, h = r * rng.uniform(1.3, 1.6), r * rng.uniform(0.35, 0.45)
    body = rgb(rng)
    d.rounded_rectangle([cx - w, cy - h * 0.2, cx + w, cy + h], radius=h * 0.3, fill=body)
    d.polygon(
        [
            (cx - w * 0.55, cy - h * 0.2),
            (cx - w * 0.3, cy - h * 1.2),
            (cx + w * 0.35, cy - h * 1.2),
            (cx + w * 0.6, cy - h * 0.2),
        ],
        fill=body,
    )
    glass = rgb(rng, (170, 210, 235), 15)
    d.polygon(
        [
            (cx - w * 0.4, cy - h * 0.3),
            (cx - w * 0.25, cy - h * 1.0),
            (cx - 0.02 * w, cy - h * 1.0),
            (cx - 0.02 * w, cy - h * 0.3),
        ],
        fill=glass,
    )
    d.polygon(
        [
            (cx + 0.05 * w, cy - h * 0.3),
            (cx + 0.05 * w, cy - h * 1.0),
            (cx + w * 0.3, cy - h * 1.0),
            (cx + w * 0.45, cy - h * 0.3),
        ],
        fill=glass,
    )
    for x in (cx - w * 0.6, cx + w * 0.6):
        d.ellipse([x - h * 0.5, cy + h * 0.5, x + h * 0.5, cy + h * 1.5], fill=(25, 25, 25))
        d.ellipse([x - h * 0.2, cy + h * 0.8, x + h * 0.2, cy + h * 1.2], fill=(160, 160, 160))


def draw_tree(d, rng, cx, cy, r):
    """A tree: a brown trunk under a round or pointed green crown."""
    trunk = rgb(rng, (110, 70, 40), 20)
    d.rectangle([cx - r * 0.15, cy + r * 0.2, cx + r * 0.15, cy + r * 1.2], fill=trunk)
    leaves = rgb(rng, (50, 140, 50), 35)
    if rng.random() < 0.5:
        d.ellipse([cx - r * 0.8, cy - r * 1.1, cx + r * 0.8, cy + r * 0.5], fill=leaves)
    else:
        for k in range(3):
            top, base = cy - r * (1.2 - 0.35 * k), cy - r * (0.3 - 0.35 * k)
            half = r * (0.45 + 0.15 * k)
            d.polygon([(cx, top), (cx - half, base), (cx + half, base)], fill=leaves)


def draw_house(d, rng, cx, cy, r):
    """A house: walls, a triangular roof, a door and a window."""
    w = r * rng.uniform(0.75, 1.0)
    d.rectangle([cx - w, cy - r * 0.3, cx + w, cy + r * 0.9], fill=rgb(rng, (220, 200, 170), 35))
    d.polygon(
        [(cx - w * 1.15, cy - r * 0.3), (cx + w * 1.15, cy - r * 0.3), (cx, cy - r * 1.1)],
        fill=rgb(rng, (160, 50, 40), 30),
    )
    d.rectangle([cx - w * 0.2, cy + r * 0.3, cx + w * 0.2, cy + r * 0.9], fill=rgb(rng, (90, 60, 40), 20))
    d.rectangle(
        [cx + w * 0.4, cy, cx + w * 0.8, cy + r * 0.35], fill=rgb(rng, (170, 210, 235), 15), outline=(40, 40, 40)
    )


def draw_pet(kind):
    """A cartoon cat or dog (``cartoons``), with a body sometimes."""

    def draw(d, rng, cx, cy, r):
        r *= 0.6
        fur = rgb(rng, FUR[rng.integers(len(FUR))], 20)
        if rng.random() < 0.5:
            draw_body(d, rng, cx, cy, r, fur)
        (draw_cat if kind == "cat" else draw_dog)(d, rng, cx, cy, r, fur)

    return draw


DRAW = {
    "cat": draw_pet("cat"),
    "dog": draw_pet("dog"),
    "ball": draw_ball,
    "car": draw_car,
    "tree": draw_tree,
    "house": draw_house,
}


def object_layer(rng, kind, w, h, cx, cy, r):
    """One object on a transparent layer, turned a little and maybe mirrored, and its box [x0, y0, x1, y1]
    read off the pixels it covers (None if it fell off the picture)."""
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    DRAW[kind](ImageDraw.Draw(layer), rng, cx, cy, r)
    layer = layer.rotate(rng.uniform(-12, 12), center=(cx, cy), resample=Image.BILINEAR)
    if rng.random() < 0.5:
        layer = layer.transpose(Image.FLIP_LEFT_RIGHT)
    alpha = np.asarray(layer)[:, :, 3] > 127
    ys, xs = np.nonzero(alpha)
    if len(xs) < 20:
        return layer, None
    return layer, [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def overlap(a, b):
    """Intersection over the smaller box's area."""
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return iw * ih / max(1, min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])))


def draw_scene(rng, w, h, max_objects=4):
    """(image, [(class index, box)]): one to ``max_objects`` objects, the first usually the largest; a later
    object may hide up to about half of an earlier one."""
    img = draw_background(rng, w, h)
    draw_clutter(rng, ImageDraw.Draw(img), w, h, int(rng.integers(2, 8)))
    n = int(
        rng.choice(
            np.arange(1, max_objects + 1),
            p=[0.4, 0.3, 0.2, 0.1][:max_objects] / np.sum([0.4, 0.3, 0.2, 0.1][:max_objects]),
        )
    )
    objects = []
    for k in range(n * 3):  # a few tries to place each object without hiding too much of another
        if len(objects) == n:
            break
        r = min(w, h) * (rng.uniform(0.22, 0.34) if not objects else rng.uniform(0.1, 0.2))
        cls = int(rng.integers(len(CLASSES)))
        cx, cy = rng.uniform(r * 0.8, w - r * 0.8), rng.uniform(r * 0.8, h - r * 0.8)
        layer, box = object_layer(rng, CLASSES[cls], w, h, cx, cy, r)
        if box is None or any(overlap(box, b) > 0.5 for _, b in objects):
            continue
        img.paste(layer, (0, 0), layer)
        objects.append((cls, box))
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    arr = np.asarray(img).astype(np.float32) + rng.normal(0, rng.uniform(2, 10), (h, w, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), objects


def write_split(rng, dest, json_name, first_id, n, size):
    """Draw ``n`` scenes into the image folder and write their annotations to ``json_name``."""
    images, annotations = [], []
    for image_id in range(first_id, first_id + n):
        w, h = (int(v) for v in rng.integers(size[0], size[1] + 1, 2))
        img, objects = draw_scene(rng, w, h)
        name = f"{image_id:06d}.jpg"
        (dest / IMAGES / name).write_bytes(jpeg_bytes(img, rng.integers(80, 95)))
        images.append({"file_name": name, "height": h, "width": w, "id": image_id})
        for cls, (x0, y0, x1, y1) in objects:
            annotations.append(
                {
                    "segmentation": [[x0, y0, x0, y1, x1, y1, x1, y0]],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                    "image_id": image_id,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "category_id": cls + 1,
                    "id": len(annotations) + 1,
                    "ignore": 0,
                }
            )
    categories = [{"supercategory": "none", "id": i + 1, "name": c} for i, c in enumerate(CLASSES)]
    data = {"images": images, "type": "instances", "annotations": annotations, "categories": categories}
    (dest / json_name).write_text(json.dumps(data))


def make_pascal_sample(dest, seed=0, n_train=320, n_valid=96, size=(120, 168)):
    """Write ``n_train`` + ``n_valid`` scenes in the 2018 Pascal layout under ``dest``."""
    dest = Path(dest)
    (dest / IMAGES).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    write_split(rng, dest, TRAIN_JSON, 1, n_train, size)
    write_split(rng, dest, VALID_JSON, 100001, n_valid, size)


def make_pascal_multi_sample(dest, seed=0, n_train=1280, n_valid=96, size=(120, 168)):
    """Lesson 9's scenes: the same as lesson 8's (``make_pascal_sample``), four times as many training images. An SSD
    head on the frozen body's features learned lesson 8's 320 by heart (seed 0: mAP@0.5 0.82 on them, 0.22 on
    validation); on 1280 its validation mAP@0.5 came out about twice as high."""
    make_pascal_sample(dest, seed, n_train, n_valid, size)
