import inspect
import json

import numpy as np
from PIL import Image

from coursekit.samples import SAMPLES, scenes
from coursekit.vision import detection_data


def test_scenes_are_written_in_the_2018_pascal_layout_and_read_by_the_coco_reader(tmp_path):
    scenes.make_pascal_sample(tmp_path, seed=1, n_train=12, n_valid=4)
    layout = SAMPLES["pascal"].layout
    data = json.loads((tmp_path / layout["train_json"]).read_text())
    assert set(data) >= {"images", "annotations", "categories"}
    assert [c["name"] for c in data["categories"]] == list(scenes.CLASSES)
    items, classes = detection_data.read_coco(tmp_path / layout["train_json"], tmp_path / layout["images"])
    valid, _ = detection_data.read_coco(tmp_path / layout["valid_json"], tmp_path / layout["images"])
    assert classes == list(scenes.CLASSES) and len(items) == 12 and len(valid) == 4
    assert all(1 <= len(it.labels) <= 4 for it in items)
    assert not {it.file for it in items} & {it.file for it in valid}


def test_scenes_are_deterministic_from_the_seed(tmp_path):
    scenes.make_pascal_sample(tmp_path / "a", seed=3, n_train=3, n_valid=1)
    scenes.make_pascal_sample(tmp_path / "b", seed=3, n_train=3, n_valid=1)
    for name in (scenes.TRAIN_JSON, scenes.VALID_JSON):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()


def test_each_box_is_exactly_the_extent_of_its_object_layer():
    rng = np.random.default_rng(0)
    for kind in scenes.CLASSES:
        layer, box = scenes.object_layer(rng, kind, 120, 100, 60, 50, 25)
        alpha = np.asarray(layer)[:, :, 3] > 127
        x0, y0, x1, y1 = box
        assert alpha[y0:y1, x0:x1].sum() == alpha.sum() > 0, kind  # every object pixel is inside
        assert alpha[y0:y1, x0].any() and alpha[y0:y1, x1 - 1].any() and alpha[y0, x0:x1].any(), kind  # tight


def test_scenes_vary_in_count_class_and_size():
    rng = np.random.default_rng(0)
    counts, classes, sizes = set(), set(), []
    for _ in range(40):
        img, objects = scenes.draw_scene(rng, 140, 120)
        assert isinstance(img, Image.Image) and img.size == (140, 120)
        counts.add(len(objects))
        classes.update(c for c, _ in objects)
        sizes += [(b[2] - b[0]) * (b[3] - b[1]) / (140 * 120) for _, b in objects]
    assert counts >= {1, 2, 3} and classes == set(range(len(scenes.CLASSES)))
    assert min(sizes) < 0.05 and max(sizes) > 0.25


def test_lesson9s_sample_is_lesson8s_scenes_with_four_times_the_training_images(tmp_path):
    scenes.make_pascal_multi_sample(tmp_path / "multi", seed=2, n_train=6, n_valid=2)
    scenes.make_pascal_sample(tmp_path / "single", seed=2, n_train=6, n_valid=2)
    for name in (scenes.TRAIN_JSON, scenes.VALID_JSON):
        assert (tmp_path / "multi" / name).read_text() == (tmp_path / "single" / name).read_text()
    defaults = inspect.signature(scenes.make_pascal_multi_sample).parameters
    assert defaults["n_train"].default == 4 * inspect.signature(scenes.make_pascal_sample).parameters["n_train"].default
    assert SAMPLES["pascal_multi"].make is scenes.make_pascal_multi_sample
    assert SAMPLES["pascal_multi"].layout == SAMPLES["pascal"].layout
