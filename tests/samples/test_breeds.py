"""The cartoon breeds (lesson 2b's sample): Kaggle's layout, read by the lesson's CSV loader, made the same from a seed,
and breeds in pairs that share a colour and ears, so that only the species' small cues tell them apart."""

import torch

from coursekit.samples import breeds
from coursekit.vision import loaders


def test_the_sample_is_kaggles_layout_and_the_lessons_loader_reads_it(tmp_path):
    breeds.make_dogbreeds_sample(tmp_path / "a", seed=3, per_breed=4)
    rows = [line.split(",") for line in (tmp_path / "a" / "labels.csv").read_text().splitlines()]
    assert rows[0] == ["id", "breed"] and len(rows) == 1 + 4 * len(breeds.BREEDS)
    assert sorted({b for _, b in rows[1:]}) == sorted(breeds.BREEDS)
    assert not any(b in i for i, _ in rows[1:] for b in breeds.BREEDS)  # the file names say nothing
    dls = loaders.image_dls_from_csv(tmp_path / "a", "labels.csv", "train", suffix=".jpg", size=32, bs=8, seed=0)
    assert dls.c == len(breeds.BREEDS) and len(dls.train_ds) + len(dls.valid_ds) == 40
    x, y = next(iter(dls.train))
    assert x.shape[1:] == (3, 32, 32) and y.dtype == torch.long
    sizes = {(tmp_path / "a" / "train" / f"{i}.jpg").stat().st_size for i, _ in rows[1:]}
    assert len(sizes) > 30  # many image sizes, as photos come


def test_the_same_seed_makes_the_same_sample(tmp_path):
    for name in ("a", "b"):
        breeds.make_dogbreeds_sample(tmp_path / name, seed=1, per_breed=2)
    assert (tmp_path / "a" / "labels.csv").read_bytes() == (tmp_path / "b" / "labels.csv").read_bytes()
    first = (tmp_path / "a" / "labels.csv").read_text().splitlines()[1].split(",")[0]
    assert (tmp_path / "a" / "train" / f"{first}.jpg").read_bytes() == (
        tmp_path / "b" / "train" / f"{first}.jpg"
    ).read_bytes()


def test_breeds_pair_up_on_colour_and_differ_in_species():
    by_colour = {}
    for name, (kind, fur, _) in breeds.BREEDS.items():
        by_colour.setdefault(fur, []).append(kind)
    pairs = [kinds for kinds in by_colour.values() if len(kinds) == 2]
    assert len(pairs) >= 4 and all(sorted(k) == ["cat", "dog"] for k in pairs)
