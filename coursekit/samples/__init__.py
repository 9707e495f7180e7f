"""Offline look-alikes of the course's datasets: one generator module per domain, registered here by name.

A generator is ``make(dest, seed)``: it writes the sample into the folder ``dest`` in the real dataset's
on-disk layout, deterministically from ``seed``. ``layout`` names the files a loader needs, so the same
loader reads the sample and the real data (``datasets.layout``). A new lesson adds its generator module
here and one entry to ``SAMPLES``: no generator is looked up by a string module name.
"""

from dataclasses import dataclass, field
from typing import Callable

from coursekit.samples import cartoons, chars, tabular, text, translation, vision
from coursekit.samples import cifar
from coursekit.samples import scenes
from coursekit.samples import carvana, superres
from coursekit.samples import paintings
from coursekit.samples import breeds
from coursekit.samples import stripes


@dataclass(frozen=True)
class Sample:
    """How to make one offline sample: the generator and the names of the files its loader reads."""

    make: Callable
    layout: dict = field(default_factory=dict)


SAMPLES = {
    "dogscats": Sample(cartoons.make_dogscats_sample, {"train": "train", "valid": "valid"}),
    "dogbreeds": Sample(breeds.make_dogbreeds_sample, {"labels": "labels.csv", "images": "train"}),
    "planet": Sample(vision.make_planet_sample, {"labels": "train_v2.csv", "images": "train-jpg"}),
    "camvid": Sample(vision.make_camvid_sample),
    "movielens": Sample(tabular.make_movielens_sample, {"ratings": "ratings.csv", "movies": "movies.csv"}),
    "rossmann": Sample(tabular.make_rossmann_sample, {"train": "train.csv", "store": "store.csv"}),
    "imdb": Sample(text.make_imdb_sample, {"train": "train", "test": "test"}),
    "nietzsche": Sample(chars.make_nietzsche_sample, {"text": "nietzsche.txt"}),
    "cifar10": Sample(cifar.make_cifar_sample, {"train": "train", "valid": "test", "labels": "labels.txt"}),
    "pascal": Sample(
        scenes.make_pascal_sample,
        {"train_json": scenes.TRAIN_JSON, "valid_json": scenes.VALID_JSON, "images": scenes.IMAGES},
    ),
    "pascal_multi": Sample(
        scenes.make_pascal_multi_sample,
        {"train_json": scenes.TRAIN_JSON, "valid_json": scenes.VALID_JSON, "images": scenes.IMAGES},
    ),
    "carvana": Sample(carvana.make_carvana_sample, {"images": "train", "masks": "train_masks"}),
    "superres": Sample(superres.make_superres_sample, {"train": "train", "valid": "val"}),
    "style": Sample(paintings.make_style_sample, {"content": "content", "style": "style"}),
    "horse2zebra": Sample(
        stripes.make_horse2zebra_sample,
        {"train_a": "trainA", "train_b": "trainB", "test_a": "testA", "test_b": "testB"},
    ),
    "giga_fren": Sample(translation.make_translation_sample, {"en": translation.EN_FILE, "fr": translation.FR_FILE}),
}
