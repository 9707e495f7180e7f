"""Offline look-alikes of two image datasets (numpy and PIL only): satellite tiles with tags in the Planet
layout (lesson 2's data) and street scenes with label masks in the CamVid layout (lesson 3's)."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from coursekit.samples.cartoons import rgb

# -- lesson 2: satellite tiles with several tags, in the Planet layout -------------------------------------
WEATHER = ["clear", "haze", "partly_cloudy", "cloudy"]
PLANET_TAGS = [
    "agriculture",
    "bare_ground",
    "clear",
    "cloudy",
    "conventional_mine",
    "cultivation",
    "habitation",
    "haze",
    "partly_cloudy",
    "primary",
    "road",
    "slash_burn",
    "water",
]


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
    big = (
        np.asarray(
            Image.fromarray(((small[..., 0] + 3) * 40).clip(0, 255).astype(np.uint8)).resize(
                (size, size), Image.BILINEAR
            ),
            dtype=np.float32,
        )[..., None]
        / 40
        - 3
    )
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
            draw.polygon(
                [(x, y), (x + w, y + rng.integers(-5, 6)), (x + w, y + h), (x, y + h)],
                fill=rgb(rng, (165, 160, 90), 25),
            )
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
            pts = (
                [(0, rng.integers(0, size))]
                + [(int(size * t), int(rng.integers(0, size))) for t in (0.33, 0.66)]
                + [(size, rng.integers(0, size))]
            )
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
CAMVID_CODES = [
    "Animal",
    "Archway",
    "Bicyclist",
    "Bridge",
    "Building",
    "Car",
    "CartLuggagePram",
    "Child",
    "Column_Pole",
    "Fence",
    "LaneMkgsDriv",
    "LaneMkgsNonDriv",
    "Misc_Text",
    "MotorcycleScooter",
    "OtherMoving",
    "ParkingBlock",
    "Pedestrian",
    "Road",
    "RoadShoulder",
    "Sidewalk",
    "SignSymbol",
    "Sky",
    "SUVPickupTruck",
    "TrafficCone",
    "TrafficLight",
    "Train",
    "Tree",
    "Truck_Bus",
    "Tunnel",
    "VegetationMisc",
    "Void",
    "Wall",
]


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
        p.shape(
            "rectangle", "Column_Pole", [px, horizon - rng.uniform(10, 25), px + 1.5, horizon + 12], (120, 120, 120)
        )
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
        fx = rng.choice(
            [rng.uniform(0, max(vanish - 20 - 40 * t, 1)), rng.uniform(min(vanish + 20 + 40 * t, w - 1), w)]
        )
        ph = 12 + 25 * t
        p.shape("ellipse", "Pedestrian", [fx - ph * 0.12, fy - ph * 0.8, fx + ph * 0.12, fy], rgb(rng, None, 0))
        p.shape("ellipse", "Pedestrian", [fx - ph * 0.1, fy - ph, fx + ph * 0.1, fy - ph * 0.78], (220, 180, 150))
    arr = np.asarray(p.img, dtype=np.float32) + rng.normal(0, 5, (h, w, 3))
    mask = np.asarray(p.mask).copy()
    edges = np.abs(np.diff(mask.astype(int), axis=1, prepend=mask[:, :1])) > 0
    mask[edges & (rng.random(mask.shape) < 0.5)] = CAMVID_CODES.index("Void")  # unlabelled borders, as in CamVid
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8)), Image.fromarray(mask, mode="L")


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
