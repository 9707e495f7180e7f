"""The lesson 2 and 3 samples have the real datasets' layouts, so the same loaders read both."""

import numpy as np
import pandas as pd
from PIL import Image

from coursekit.samples.vision import CAMVID_CODES, PLANET_TAGS, WEATHER, make_camvid_sample, make_planet_sample


def test_planet_sample_has_the_planet_layout_and_one_weather_tag_per_tile(tmp_path):
    make_planet_sample(tmp_path, seed=0, n=30, size=48)
    df = pd.read_csv(tmp_path / "train_v2.csv")
    assert list(df.columns) == ["image_name", "tags"] and len(df) == 30
    for name, tags in zip(df["image_name"], df["tags"]):
        tags = tags.split(" ")
        assert set(tags) <= set(PLANET_TAGS)
        assert sum(t in WEATHER for t in tags) == 1  # as in the real labels: exactly one weather tag
        with Image.open(tmp_path / "train-jpg" / f"{name}.jpg") as img:
            assert img.size == (48, 48) and img.mode == "RGB"


def test_planet_sample_is_deterministic_from_its_seed(tmp_path):
    make_planet_sample(tmp_path / "a", seed=3, n=5, size=32)
    make_planet_sample(tmp_path / "b", seed=3, n=5, size=32)
    make_planet_sample(tmp_path / "c", seed=4, n=5, size=32)
    read = lambda d: (d / "train_v2.csv").read_text() + (d / "train-jpg" / "train_0.jpg").read_bytes().hex()
    assert read(tmp_path / "a") == read(tmp_path / "b") != read(tmp_path / "c")


def test_camvid_sample_masks_match_their_images_and_the_codes(tmp_path):
    make_camvid_sample(tmp_path, seed=0, n=4, size=(64, 48))
    codes = (tmp_path / "codes.txt").read_text().split()
    assert codes == CAMVID_CODES
    images = sorted((tmp_path / "images").glob("*.png"))
    assert len(images) == 4
    seen = set()
    for img_file in images:
        mask_file = tmp_path / "labels" / f"{img_file.stem}_P.png"
        with Image.open(img_file) as img, Image.open(mask_file) as mask:
            assert img.size == mask.size == (64, 48) and mask.mode == "L"
            values = np.unique(np.asarray(mask))
        assert values.max() < len(codes)
        seen |= {codes[v] for v in values}
    assert {"Road", "Sky", "Void"} <= seen  # the scene's big regions, and unlabelled borders as in CamVid
