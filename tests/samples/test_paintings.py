"""The generated 'style' sample: cartoon content images and painting-like style images."""

import numpy as np
import pytest
from PIL import Image

from coursekit import samples
from coursekit.samples.paintings import KINDS, draw_painting, make_style_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("style")
    make_style_sample(path, seed=0, n_content=4, n_style=3, size=96)
    return path


def test_sample_has_content_and_style_folders_of_jpegs(sample):
    content, style = sorted((sample / "content").glob("*.jpg")), sorted((sample / "style").glob("*.jpg"))
    assert len(content) == 4 and len(style) == 3
    assert {p.name.split("_")[0] for p in style} == set(KINDS)
    assert all(Image.open(p).size == (96, 96) for p in content + style)


def test_sample_is_registered_under_style_with_its_layout():
    assert samples.SAMPLES["style"].make is make_style_sample
    assert samples.SAMPLES["style"].layout == {"content": "content", "style": "style"}


def test_same_seed_same_paintings(tmp_path):
    a, b = (np.asarray(draw_painting(np.random.default_rng(3), 64, 48)) for _ in range(2))
    assert a.shape == (48, 64, 3) and np.array_equal(a, b)


@pytest.mark.parametrize("kind", KINDS)
def test_paintings_are_strongly_coloured_and_textured(kind):
    img = np.asarray(draw_painting(np.random.default_rng(0), 128, 128, kind)).astype(float)
    assert img.std(axis=(0, 1)).mean() > 25  # strong contrast between strokes
    assert np.abs(np.diff(img, axis=1)).mean() > 8  # edges everywhere: texture, not flat colour


def test_unknown_painting_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown painting kind 'cubist'"):
        draw_painting(np.random.default_rng(0), 32, 32, "cubist")
