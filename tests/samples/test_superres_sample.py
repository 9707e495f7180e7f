"""The super-resolution sample is an image folder like Imagenette: full-size pictures only."""

from PIL import Image

from coursekit.samples.superres import WNIDS, make_superres_sample
from coursekit.vision import superres


def test_superres_sample_has_the_imagenette_layout(tmp_path):
    make_superres_sample(tmp_path, seed=0, n_train=2, n_valid=1, size=(64, 80))
    train, valid = superres.sr_items(tmp_path)
    assert len(train) == 4 and len(valid) == 2
    assert {p.parent.name for p in train} == set(WNIDS) and all(p.suffix == ".JPEG" for p in train)
    for p in train:
        with Image.open(p) as img:
            assert 64 <= min(img.size) and max(img.size) <= 80
    lr, hr = superres.PairedSRDataset(valid, scale=2, size=32, train=False)[0]
    assert lr.shape == (3, 16, 16) and hr.shape == (3, 32, 32)
