"""Cartoon breeds, the offline look-alike of Kaggle's dog-breed data (lesson 2b), drawn with ``samples.cartoons``.

``make_dogbreeds_sample`` writes ``train/<id>.jpg`` and ``labels.csv`` (``id,breed``), Kaggle's layout: the file
names say nothing, the CSV holds the labels. A breed is a species (which fixes the eyes and the nose), a fur colour
and an ear shape, muzzle and whiskers; breeds come in pairs that share the colour and the ears and differ only in
the small species cues (abyssinian and shiba_inu: orange with pointed ears), so detail, and so image size, matters.
Images come in many sizes, as photos do.
"""

import csv
import hashlib
from pathlib import Path

import numpy as np

from coursekit.samples.cartoons import draw_animal, jpeg_bytes

# breed: (species, fur colour, cues)
BREEDS = {
    "abyssinian": ("cat", (215, 125, 55), dict(pointed=True, muzzle=False, whiskers=True)),
    "shiba_inu": ("dog", (215, 125, 55), dict(pointed=True, muzzle=True, whiskers=False)),
    "russian_blue": ("cat", (120, 125, 140), dict(pointed=True, muzzle=False, whiskers=True)),
    "weimaraner": ("dog", (120, 125, 140), dict(pointed=False, muzzle=True, whiskers=False)),
    "bombay": ("cat", (35, 33, 38), dict(pointed=True, muzzle=False, whiskers=True)),
    "rottweiler": ("dog", (35, 33, 38), dict(pointed=False, muzzle=True, whiskers=False)),
    "persian": ("cat", (238, 232, 220), dict(pointed=False, muzzle=True, whiskers=True)),
    "samoyed": ("dog", (238, 232, 220), dict(pointed=True, muzzle=True, whiskers=False)),
    "british_shorthair": ("cat", (175, 160, 140), dict(pointed=True, muzzle=True, whiskers=True)),
    "pug": ("dog", (200, 170, 110), dict(pointed=False, muzzle=True, whiskers=False)),
}


def image_id(seed, i):
    """An opaque file name, like Kaggle's: the label is only in the CSV."""
    return hashlib.sha1(f"{seed}-{i}".encode()).hexdigest()[:16]


def make_dogbreeds_sample(dest, seed=0, per_breed=50, height=(90, 220), aspect=(0.8, 1.6)):
    """Write ``per_breed`` cartoon images of each of ``BREEDS`` to ``dest/train`` and their labels to
    ``dest/labels.csv``, in a shuffled order; heights and width/height ratios vary in the ranges given."""
    dest = Path(dest)
    (dest / "train").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [b for b in BREEDS for _ in range(per_breed)]
    rows = []
    for i in rng.permutation(len(names)):
        breed = names[i]
        kind, fur, cues = BREEDS[breed]
        h = int(rng.integers(height[0], height[1] + 1))
        w = int(h * rng.uniform(*aspect))
        img = draw_animal(rng, kind, w, h, across=(0.3, 0.7), fur=fur, cues=cues)
        name = image_id(seed, len(rows))
        (dest / "train" / f"{name}.jpg").write_bytes(jpeg_bytes(img, rng.integers(75, 95)))
        rows.append((name, breed))
    with open(dest / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([("id", "breed"), *rows])
