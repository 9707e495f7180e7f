import hashlib

from PIL import Image

import numpy as np

from coursekit.samples import cartoons
from coursekit.samples.cartoons import make_dogscats_sample


def digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.jpg")):
        h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_dogscats_sample_has_the_real_layout(tmp_path):
    make_dogscats_sample(tmp_path, seed=0, n_train=6, n_valid=3)
    for split, n in (("train", 6), ("valid", 3)):
        for cls in ("cats", "dogs"):
            files = list((tmp_path / split / cls).glob("*.jpg"))
            assert len(files) == n
            with Image.open(files[0]) as img:
                w, h = img.size
                assert img.format == "JPEG" and 110 <= h <= 170 and h <= w <= 1.7 * h + 1


def test_dogscats_sample_is_deterministic_from_its_seed(tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        make_dogscats_sample(tmp_path / name, seed=seed, n_train=3, n_valid=1)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_dogscats_images_vary_in_size_and_shape(tmp_path):
    make_dogscats_sample(tmp_path, seed=0, n_train=10, n_valid=0)
    sizes = set()
    for f in tmp_path.rglob("*.jpg"):
        with Image.open(f) as img:
            sizes.add(img.size)
    assert len(sizes) > 10 and any(w != h for w, h in sizes)


def test_dogscats_sample_is_registered():
    from coursekit import datasets, samples

    assert samples.SAMPLES["dogscats"].make is make_dogscats_sample
    assert datasets.layout("dogscats", "sample") == {"train": "train", "valid": "valid"}


def test_a_quarter_of_the_animals_borrow_each_cue_from_the_other_species(monkeypatch):
    """With ``typical=0.75`` each of ears, muzzle and whiskers is the other species' about a quarter of the time, and
    each cue on its own is a poor guess; with ``typical=1`` every cat and dog is drawn the usual way."""
    drawn = []
    for name in ("draw_cat", "draw_dog"):
        monkeypatch.setattr(cartoons, name, lambda *a, _n=name, **cues: drawn.append((_n, cues)))
    rng = np.random.default_rng(0)
    for kind in ("cat", "dog") * 200:
        cartoons.draw_animal(rng, kind, 60, 40, typical=0.75)
    for cue, cat_way in (("pointed", True), ("muzzle", False), ("whiskers", True)):
        for name, own in (("draw_cat", cat_way), ("draw_dog", not cat_way)):
            share = np.mean([cues[cue] == own for n, cues in drawn if n == name])
            assert 0.65 < share < 0.85, (name, cue, share)
    drawn.clear()
    for kind in ("cat", "dog") * 5:
        cartoons.draw_animal(rng, kind, 60, 40)
    assert all(
        cues == {"pointed": n == "draw_cat", "muzzle": n == "draw_dog", "whiskers": n == "draw_cat"}
        for n, cues in drawn
    )
