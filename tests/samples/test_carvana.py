"""The Carvana sample has Carvana's layout (photos, GIF masks of the same size), so one loader reads both."""

import numpy as np
from PIL import Image

from coursekit.samples.carvana import make_carvana_sample
from coursekit.vision import binary_seg


def test_carvana_sample_has_the_layout_and_gif_masks_of_each_photos_size(tmp_path):
    make_carvana_sample(tmp_path, seed=0, n_cars=3, n_views=2, size=(72, 48))
    photos = sorted((tmp_path / "train").glob("*.jpg"))
    assert len(photos) == 6 and (tmp_path / "train_masks.csv").exists()
    for p in photos:
        car, view = p.stem.split("_")
        assert len(car) == 12 and view in ("01", "02")
        with Image.open(tmp_path / "train_masks" / f"{p.stem}_mask.gif") as m, Image.open(p) as img:
            assert m.format == "GIF" and m.size == img.size == (72, 48)
            values = set(np.unique(np.asarray(m)).tolist())
        assert values == {0, 1}  # a car and background in every photo


def test_the_loader_reads_the_sample_and_keeps_cars_together(tmp_path):
    make_carvana_sample(tmp_path, seed=1, n_cars=5, n_views=2, size=(72, 48))
    dls = binary_seg.binary_dls(tmp_path, size=(24, 36), bs=2, valid_pct=0.2, seed=0)
    assert len(dls.train_ds) == 8 and len(dls.valid_ds) == 2
    cars = lambda ds: {binary_seg.group_of(p) for p in ds.items}
    assert cars(dls.valid_ds).isdisjoint(cars(dls.train_ds))
    x, y = dls.valid_ds[0]
    assert 0.05 < y.mean() < 0.7


def test_carvana_sample_is_deterministic_from_its_seed(tmp_path):
    for d, seed in (("a", 3), ("b", 3), ("c", 4)):
        make_carvana_sample(tmp_path / d, seed=seed, n_cars=1, n_views=1, size=(48, 32))
    read = lambda d: sorted(p.name for p in (tmp_path / d / "train").iterdir())
    assert read("a") == read("b") != read("c")
