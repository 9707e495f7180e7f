"""Offline look-alike datasets for lesson 1, generated with numpy and PIL in the real on-disk layout.

``make_dogscats_sample`` draws cartoon cats and dogs into ``train/{cats,dogs}`` and ``valid/{cats,dogs}``
as JPEGs, like the 2018 ``dogscats`` download. What tells them apart is what tells real ones apart
(pointed ears and whiskers vs floppy ears and a muzzle); everything else (fur colour, size, pose,
background, clutter, noise) varies in both classes, so a model has something to learn.
"""
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from coursekit.datasets import register_sample

FUR = [(230, 140, 60), (90, 70, 60), (240, 235, 225), (40, 40, 45), (170, 150, 130), (200, 170, 110),
       (130, 120, 125), (120, 80, 40)]


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
            draw.line([x, y, x + rng.uniform(-w / 2, w / 2), y + rng.uniform(-h / 2, h / 2)], fill=colour,
                      width=int(rng.integers(1, 4)))


def draw_body(draw, rng, cx, cy, r, fur):
    """An oval body and a tail below/behind the head."""
    bw, bh = r * rng.uniform(1.2, 1.7), r * rng.uniform(0.8, 1.1)
    by = cy + r * 1.3
    draw.ellipse([cx - bw, by - bh, cx + bw, by + bh], fill=fur)
    side = rng.choice([-1, 1])
    draw.line([cx + side * bw * 0.8, by, cx + side * bw * 1.4, by - bh * rng.uniform(0.2, 1.2)], fill=fur,
              width=max(2, int(r * 0.25)))


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
            draw.line([cx + dx * r, cy - r * 0.8, cx + dx * r * 0.6, cy - r * 0.45], fill=dark, width=max(2, int(r * 0.07)))
    elif kind == "blaze":
        draw.polygon([(cx - r * 0.12, cy - r * 0.75), (cx + r * 0.12, cy - r * 0.75), (cx + r * 0.3, cy + r * 0.7),
                      (cx - r * 0.3, cy + r * 0.7)], fill=pale)
    elif kind == "patch":
        ex = cx + rng.choice([-1, 1]) * r * 0.38
        draw.ellipse([ex - r * 0.3, cy - r * 0.42, ex + r * 0.3, cy + r * 0.15], fill=dark)


def draw_cat(draw, rng, cx, cy, r, fur):
    """Pointed triangular ears, a round-ish face, almond eyes, a small pink nose and whiskers."""
    inner = rgb(rng, (240, 170, 170), 15)
    for side in (-1, 1):
        base1, base2 = (cx + side * r * 0.95, cy - r * 0.25), (cx + side * r * 0.2, cy - r * 0.85)
        tip = (cx + side * r * rng.uniform(0.7, 0.95), cy - r * rng.uniform(1.45, 1.75))
        draw.polygon([base1, base2, tip], fill=fur)
        draw.polygon([(base1[0] * 0.8 + tip[0] * 0.2, base1[1] * 0.6 + tip[1] * 0.4),
                      (base2[0] * 0.8 + tip[0] * 0.2, base2[1] * 0.6 + tip[1] * 0.4), tip], fill=inner)
    fw = r * rng.uniform(0.85, 1.0)  # face width: overlaps the dogs' range, so it is no give-away
    draw.ellipse([cx - fw, cy - r * 0.9, cx + fw, cy + r * 0.85], fill=fur)
    draw_markings(draw, rng, cx, cy, r, fur)
    draw_eyes(draw, rng, cx, cy, r, slit=True)
    ny = cy + r * 0.25
    draw.polygon([(cx - r * 0.1, ny), (cx + r * 0.1, ny), (cx, ny + r * 0.1)], fill=(235, 120, 140))
    draw.line([cx, ny + r * 0.1, cx, ny + r * 0.22], fill=(30, 30, 30), width=max(1, int(r * 0.04)))
    for side in (-1, 1):
        for k in (-1, 0, 1):
            draw.line([cx + side * r * 0.2, ny + r * 0.08, cx + side * r * 1.15, ny + k * r * 0.18],
                      fill=(250, 250, 250) if sum(fur) < 300 else (40, 40, 40), width=1)


def draw_dog(draw, rng, cx, cy, r, fur):
    """Long floppy ears hanging down, a big muzzle with a round black nose, sometimes a tongue."""
    ear = rgb(rng, np.array(fur) * 0.7, 20)
    ear_w, ear_len = r * rng.uniform(0.25, 0.38), r * rng.uniform(0.4, 1.0)
    for side in (-1, 1):
        ex = cx + side * r * rng.uniform(0.75, 0.9)
        draw.ellipse([ex - ear_w, cy - r * 0.8, ex + ear_w, cy + ear_len], fill=ear)
    fw = r * rng.uniform(0.78, 0.92)
    draw.ellipse([cx - fw, cy - r * 0.95, cx + fw, cy + r * 0.8], fill=fur)
    draw_markings(draw, rng, cx, cy, r, fur)
    draw_eyes(draw, rng, cx, cy - r * 0.1, r, slit=False)
    muzzle = rgb(rng, np.array(fur) * 0.5 + 120, 15)
    my = cy + r * 0.35
    draw.ellipse([cx - r * 0.45, my - r * 0.3, cx + r * 0.45, my + r * 0.35], fill=muzzle)
    draw.ellipse([cx - r * 0.18, my - r * 0.25, cx + r * 0.18, my], fill=(15, 15, 15))
    if rng.random() < 0.5:
        draw.ellipse([cx - r * 0.12, my + r * 0.15, cx + r * 0.12, my + r * 0.55], fill=(230, 90, 110))
    draw.line([cx - r * 0.2, my + r * 0.2, cx + r * 0.2, my + r * 0.2], fill=(30, 30, 30), width=max(1, int(r * 0.04)))


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


def draw_animal(rng, kind, w, h):
    """One cartoon ``kind`` ('cat' or 'dog') at a random place, size and pose on a busy background."""
    img = draw_background(rng, w, h)
    draw = ImageDraw.Draw(img)
    draw_clutter(rng, draw, w, h, int(rng.integers(0, 6)))
    # the animal is drawn on its own layer so it can be rotated and flipped as a whole
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ld = ImageDraw.Draw(layer)
    r = min(w, h) * rng.uniform(0.16, 0.3)
    cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.35, 0.6)
    fur = rgb(rng, FUR[rng.integers(len(FUR))], 20)
    if rng.random() < 0.6:
        draw_body(ld, rng, cx, cy, r, fur)
    (draw_cat if kind == "cat" else draw_dog)(ld, rng, cx, cy, r, fur)
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


@register_sample("dogscats", layout={"train": "train", "valid": "valid"})
def make_dogscats_sample(dest, seed=0, n_train=120, n_valid=60, size=(140, 200)):
    """Write ``n_train``/``n_valid`` cartoon cats and as many dogs per split: ``dest/{train,valid}/{cats,dogs}``."""
    dest = Path(dest)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("valid", n_valid)):
        for kind in ("cat", "dog"):
            folder = dest / split / f"{kind}s"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                w, h = (int(v) for v in rng.integers(size[0], size[1] + 1, 2))
                img = draw_animal(rng, kind, w, h)
                (folder / f"{kind}.{i}.jpg").write_bytes(jpeg_bytes(img, rng.integers(70, 95)))


# -- lesson 2: satellite tiles with several tags, in the Planet layout -------------------------------------
WEATHER = ["clear", "haze", "partly_cloudy", "cloudy"]
PLANET_TAGS = ["agriculture", "bare_ground", "clear", "cloudy", "conventional_mine", "cultivation",
               "habitation", "haze", "partly_cloudy", "primary", "road", "slash_burn", "water"]


def planet_tags(rng):
    """One weather tag and land tags with the real data's habits: cloudy hides everything, roads come
    with houses and fields, mines and burning are rare."""
    weather = rng.choice(WEATHER, p=[0.68, 0.08, 0.17, 0.07])
    if weather == "cloudy":
        return ["cloudy"]
    tags = {weather}
    if rng.random() < 0.9:
        tags.add("primary")
    if rng.random() < 0.35:
        tags.add("agriculture")
        if rng.random() < 0.35:
            tags.add("cultivation")
    if rng.random() < 0.25 or ("agriculture" in tags and rng.random() < 0.5):
        tags.add("road")
        if rng.random() < 0.45:
            tags.add("habitation")
    if rng.random() < 0.2:
        tags.add("water")
    if rng.random() < 0.06:
        tags.add("bare_ground")
    if rng.random() < 0.03:
        tags.add("slash_burn")
    if rng.random() < 0.025:
        tags.add("conventional_mine")
    return sorted(tags)


def noise_texture(rng, size, scale, base, amount):
    """Smooth random texture: upsampled noise around a base colour, (size, size, 3) float."""
    small = rng.normal(0, 1, (max(2, size // scale), max(2, size // scale), 1))
    big = np.asarray(Image.fromarray(((small[..., 0] + 3) * 40).clip(0, 255).astype(np.uint8))
                     .resize((size, size), Image.BILINEAR), dtype=np.float32)[..., None] / 40 - 3
    return np.array(base, dtype=np.float32) + amount * big


def draw_tile(rng, tags, size):
    """A satellite-like tile showing ``tags``."""
    base = (45, 95, 45) if "primary" in tags else (120, 105, 80)
    arr = noise_texture(rng, size, 8, rgb(rng, base, 10), 14)
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    if "agriculture" in tags:  # big fields of flat colour
        for _ in range(int(rng.integers(2, 5))):
            x, y = rng.integers(0, size, 2)
            w, h = rng.integers(size // 5, size // 2, 2)
            draw.polygon([(x, y), (x + w, y + rng.integers(-5, 6)), (x + w, y + h), (x, y + h)],
                         fill=rgb(rng, (165, 160, 90), 25))
    if "cultivation" in tags:  # small striped plots
        x, y = rng.integers(0, size - size // 4, 2)
        for k in range(0, size // 4, 3):
            draw.line([x, y + k, x + size // 4, y + k], fill=rgb(rng, (140, 120, 70), 15), width=1)
    if "bare_ground" in tags:
        x, y = rng.integers(0, size, 2)
        r = rng.integers(size // 8, size // 4)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=rgb(rng, (175, 140, 105), 15))
    if "water" in tags:  # a winding river or a lake
        if rng.random() < 0.6:
            pts = [(0, rng.integers(0, size))] + [(int(size * t), int(rng.integers(0, size))) for t in (0.33, 0.66)] + \
                  [(size, rng.integers(0, size))]
            draw.line(pts, fill=rgb(rng, (40, 70, 110), 10), width=int(rng.integers(3, 7)), joint="curve")
        else:
            x, y = rng.integers(size // 4, 3 * size // 4, 2)
            r = rng.integers(size // 8, size // 4)
            draw.ellipse([x - r, y - r * 0.7, x + r, y + r * 0.7], fill=rgb(rng, (35, 60, 100), 10))
    if "road" in tags:
        y0, y1 = rng.integers(0, size, 2)
        draw.line([0, y0, size, y1], fill=rgb(rng, (200, 190, 170), 12), width=int(rng.integers(1, 3)))
        if "habitation" in tags:  # houses along the road
            for _ in range(int(rng.integers(5, 12))):
                t = rng.random()
                x, y = t * size, y0 + (y1 - y0) * t + rng.integers(-8, 9)
                draw.rectangle([x, y, x + 2, y + 2], fill=rgb(rng, (225, 225, 225), 20))
    if "slash_burn" in tags:
        x, y = rng.integers(0, size, 2)
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=(40, 30, 25))
    if "conventional_mine" in tags:
        x, y = rng.integers(0, size - 14, 2)
        draw.rectangle([x, y, x + 14, y + 10], fill=(215, 200, 175))
        draw.rectangle([x + 3, y + 3, x + 9, y + 7], fill=(90, 140, 150))
    arr = np.asarray(img, dtype=np.float32)
    if "haze" in tags:  # washed out, whitish
        arr = arr * 0.55 + 110 * 0.45 + 40
    if "partly_cloudy" in tags or "cloudy" in tags:
        cover = 0.97 if "cloudy" in tags else rng.uniform(0.15, 0.45)
        clouds = noise_texture(rng, size, 16, (0, 0, 0), 1.0)[..., 0]
        mask = (clouds > np.quantile(clouds, 1 - cover))[..., None]
        arr = np.where(mask, 225 + rng.normal(0, 8, arr.shape), arr)
    arr += rng.normal(0, 4, arr.shape)
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


@register_sample("planet", layout={"labels": "train_v2.csv", "images": "train-jpg"})
def make_planet_sample(dest, seed=0, n=400, size=128):
    """``dest/train-jpg/train_<i>.jpg`` and ``dest/train_v2.csv`` (image_name,tags): the Planet layout."""
    dest = Path(dest)
    rng = np.random.default_rng(seed)
    (dest / "train-jpg").mkdir(parents=True, exist_ok=True)
    rows = ["image_name,tags"]
    for i in range(n):
        tags = planet_tags(rng)
        draw_tile(rng, tags, size).save(dest / "train-jpg" / f"train_{i}.jpg", quality=90)
        rows.append(f"train_{i},{' '.join(tags)}")
    (dest / "train_v2.csv").write_text("\n".join(rows) + "\n")


# -- lesson 3: street scenes with label masks, in the CamVid layout ------------------------------------------
CAMVID_CODES = ["Animal", "Archway", "Bicyclist", "Bridge", "Building", "Car", "CartLuggagePram", "Child",
                "Column_Pole", "Fence", "LaneMkgsDriv", "LaneMkgsNonDriv", "Misc_Text", "MotorcycleScooter",
                "OtherMoving", "ParkingBlock", "Pedestrian", "Road", "RoadShoulder", "Sidewalk", "SignSymbol",
                "Sky", "SUVPickupTruck", "TrafficCone", "TrafficLight", "Train", "Tree", "Truck_Bus", "Tunnel",
                "VegetationMisc", "Void", "Wall"]


class Painter:
    """Draws each shape into the photo (a colour) and the mask (its class index) at once."""

    def __init__(self, rng, w, h):
        self.rng = rng
        self.img = Image.new("RGB", (w, h))
        self.mask = Image.new("L", (w, h), CAMVID_CODES.index("Void"))
        self.di, self.dm = ImageDraw.Draw(self.img), ImageDraw.Draw(self.mask)

    def shape(self, kind, code, xy, colour, **kw):
        getattr(self.di, kind)(xy, fill=colour, **kw)
        getattr(self.dm, kind)(xy, fill=CAMVID_CODES.index(code), **kw)


def draw_street(rng, w=128, h=96):
    """A street seen from a car: sky, buildings, trees, road with lane marks, pavements, cars, people."""
    p = Painter(rng, w, h)
    horizon = int(h * rng.uniform(0.35, 0.5))
    p.shape("rectangle", "Sky", [0, 0, w, horizon], rgb(rng, (150, 180, 215), 25))
    x = -rng.integers(0, 10)
    while x < w:  # a row of buildings of different heights and colours, with windows
        bw = int(rng.integers(15, 40))
        top = int(rng.integers(5, horizon - 5))
        p.shape("rectangle", "Building", [x, top, x + bw, horizon + 4], rgb(rng, (150, 130, 115), 40))
        for wy in range(top + 3, horizon - 2, 6):
            for wx in range(x + 3, x + bw - 3, 6):
                p.di.rectangle([wx, wy, wx + 2, wy + 2], fill=rgb(rng, (60, 70, 90), 15))
        x += bw
    vanish = w * rng.uniform(0.35, 0.65)
    road = [(vanish - 3, horizon), (vanish + 3, horizon), (w * 1.1, h), (-w * 0.1, h)]
    p.shape("rectangle", "Sidewalk", [0, horizon + 2, w, h], rgb(rng, (170, 160, 150), 15))
    p.shape("polygon", "Road", road, rgb(rng, (85, 85, 90), 10))
    for t0 in np.arange(0.05, 1.0, 0.2):  # dashed centre line, growing towards the camera
        t1 = t0 + 0.08
        y0, y1 = horizon + (h - horizon) * t0, horizon + (h - horizon) * t1
        p.shape("line", "LaneMkgsDriv", [vanish, y0, vanish, y1], (235, 235, 225), width=max(1, int(3 * t1)))
    for _ in range(int(rng.integers(0, 3))):  # trees on the pavement
        tx = rng.choice([rng.uniform(0, vanish - 25), rng.uniform(vanish + 25, w)])
        ty = horizon + rng.uniform(2, 15)
        r = rng.uniform(7, 14)
        p.shape("rectangle", "Tree", [tx - 1, ty - r, tx + 1, ty + r * 0.6], (90, 70, 50))
        p.shape("ellipse", "Tree", [tx - r, ty - 2.2 * r, tx + r, ty - 0.3 * r], rgb(rng, (60, 110, 50), 20))
    if rng.random() < 0.6:
        px = rng.choice([rng.uniform(2, vanish - 20), rng.uniform(vanish + 20, w - 2)])
        p.shape("rectangle", "Column_Pole", [px, horizon - rng.uniform(10, 25), px + 1.5, horizon + 12], (120, 120, 120))
    for _ in range(int(rng.integers(0, 4))):  # cars on the road, bigger when closer
        t = rng.uniform(0.2, 0.9)
        cy = horizon + (h - horizon) * t
        cw, ch = 14 + 40 * t, 8 + 20 * t
        cx = vanish + rng.uniform(-1, 1) * (w * 0.45 * t)
        p.shape("rectangle", "Car", [cx - cw / 2, cy - ch, cx + cw / 2, cy], rgb(rng, None, 0))
        p.di.rectangle([cx - cw / 3, cy - ch * 0.95, cx + cw / 3, cy - ch * 0.6], fill=(60, 80, 100))
        for wx in (cx - cw / 3, cx + cw / 3):
            p.di.ellipse([wx - 3, cy - 3, wx + 3, cy + 2], fill=(20, 20, 20))
    for _ in range(int(rng.integers(0, 3))):  # pedestrians on the pavement
        t = rng.uniform(0.2, 0.8)
        fy = horizon + (h - horizon) * t
        fx = rng.choice([rng.uniform(0, max(vanish - 20 - 40 * t, 1)), rng.uniform(min(vanish + 20 + 40 * t, w - 1), w)])
        ph = 12 + 25 * t
        p.shape("ellipse", "Pedestrian", [fx - ph * 0.12, fy - ph * 0.8, fx + ph * 0.12, fy], rgb(rng, None, 0))
        p.shape("ellipse", "Pedestrian", [fx - ph * 0.1, fy - ph, fx + ph * 0.1, fy - ph * 0.78], (220, 180, 150))
    arr = np.asarray(p.img, dtype=np.float32) + rng.normal(0, 5, (h, w, 3))
    mask = np.asarray(p.mask).copy()
    edges = (np.abs(np.diff(mask.astype(int), axis=1, prepend=mask[:, :1])) > 0)
    mask[edges & (rng.random(mask.shape) < 0.5)] = CAMVID_CODES.index("Void")  # unlabelled borders, as in CamVid
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8)), Image.fromarray(mask, mode="L")


@register_sample("camvid")
def make_camvid_sample(dest, seed=0, n=120, size=(128, 96)):
    """``dest/images/*.png``, ``dest/labels/*_P.png`` (class indices) and ``dest/codes.txt``: CamVid's layout."""
    dest = Path(dest)
    rng = np.random.default_rng(seed)
    (dest / "images").mkdir(parents=True, exist_ok=True)
    (dest / "labels").mkdir(parents=True, exist_ok=True)
    (dest / "codes.txt").write_text("\n".join(CAMVID_CODES) + "\n")
    for i in range(n):
        img, mask = draw_street(rng, *size)
        name = f"0001SS_{i:06d}"
        img.save(dest / "images" / f"{name}.png")
        mask.save(dest / "labels" / f"{name}_P.png")
