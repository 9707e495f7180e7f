import hashlib

from PIL import Image

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
                assert img.format == "JPEG" and 140 <= min(img.size) and max(img.size) <= 200


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
