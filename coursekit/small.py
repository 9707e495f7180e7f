"""The ``small`` data mode: a lesson's real data, sized for a laptop CPU.

Each lesson dataset with a small version names its source, a real dataset in the registry (fast.ai's ``camvid_tiny``,
``movie_lens_sample``..., Oxford-IIIT Pets, Nietzsche). A source is found, in order, in the data cache (downloaded
there earlier: ``get_data(source, mode="full")``), or in the folder ``COURSEKIT_SMALL_DATA`` names (laid out like
``../shared/data``: one folder per source, ``pets/``, ``camvid_tiny/``...), else it is downloaded, but only when the
mode is ``small`` explicitly and the archive is a few MB: the 800 MB Pets archive is never fetched by itself. Where
the lesson's loader expects the lesson's own layout (lesson 1 reads ``train/valid/{cats,dogs}``), ``build`` makes
that layout in the cache from the real files, so a notebook's loaders are the same in every mode.

``python -m coursekit.small nbs`` prints the notebooks whose small data is present (``make small`` runs them under
nbval) and says on stderr why each other one is skipped.
"""

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from coursekit import small_sources  # noqa: F401  (registers the small sources)
from coursekit.downloads import format_size
from coursekit.locks import folder_lock, remove_leftovers, swap_into_place
from coursekit.registry import DATASETS
from coursekit.small_builders import (
    coco_tags_csv,
    giga_fren_files,
    imdb_folders,
    pets_breeds,
    pets_cats_dogs,
    pets_head_boxes,
    pets_superres,
    pets_trimaps,
)

ENV = "COURSEKIT_SMALL_DATA"  # a folder laid out like ../shared/data
DOWNLOAD_LIMIT = 50_000_000  # bytes: small mode downloads a source by itself only up to this size
BUILD_VERSION = "1"  # bump to rebuild every lesson layout made from a small source
STAMP = ".coursekit-small"  # written last into a built layout: which source it was made from


@dataclass(frozen=True)
class Small:
    """The small version of a lesson dataset: its source (a registry name), the source's folder name under
    ``COURSEKIT_SMALL_DATA``, how to build the lesson's layout from it (None: the source is read as it is),
    the file names its loader reads (None: the sample's), and one line saying what it is."""

    source: str
    folder: str = None  # default: the source's name
    build: Callable = None
    layout: dict = None
    what: str = ""

    @property
    def shared_name(self):
        return self.folder or self.source


SMALL = {
    "dogscats": Small(
        "oxford_pets",
        "pets",
        pets_cats_dogs,
        what="200 Oxford-IIIT Pets photos, cats vs dogs (a fixed subset; 150 train, 50 valid)",
    ),
    "camvid": Small("camvid_tiny", what="fast.ai's camvid_tiny: 100 real CamVid frames with 32-class masks"),
    "movielens": Small(
        "movie_lens_sample",
        layout={"ratings": "ratings.csv", "movies": None},
        what="fast.ai's movie_lens_sample: 6,031 real MovieLens ratings (no movie titles or genres)",
    ),
    "nietzsche": Small("nietzsche", what="the real Nietzsche text (600,893 characters)"),
    "imdb": Small(
        "imdb_sample",
        build=imdb_folders,
        what="fast.ai's imdb_sample: 1,000 real IMDB reviews (800 train, 200 test; no unlabelled ones)",
    ),
    "giga_fren": Small(
        "eng_fra",
        build=giga_fren_files,
        what="Tatoeba's 60,829 English-French pairs (fra.txt) in giga-fren's two files; their Wh- questions",
    ),
    # no small CIFAR-10 exists: lesson 12 trains from scratch on the nearest real images, handwritten digits
    "cifar10": Small(
        "mnist_tiny",
        layout={"train": "train", "valid": "valid", "labels": None},
        what="fast.ai's mnist_tiny: 1,408 real handwritten 3s and 7s, 28x28 (in place of CIFAR-10)",
    ),
    # no small Planet exists: lesson 2 reads coco_tiny's photos as multi-label, the classes of each photo's boxes
    "planet": Small(
        "coco_tiny",
        build=coco_tags_csv,
        layout={"labels": "labels.csv", "images": "train"},
        what="fast.ai's coco_tiny as multi-label: 200 COCO photos, 6 object classes (in place of Planet)",
    ),
    # no small Carvana exists (Kaggle, behind a login): the pets with their trimaps as pet/background masks
    "carvana": Small(
        "oxford_pets",
        "pets",
        pets_trimaps,
        layout={"images": "images", "masks": "annotations/trimaps"},
        what="450 Oxford-IIIT Pets photos, their trimaps as pet/background masks (a fixed subset; no small Carvana)",
    ),
    # Kaggle's dog breeds need a login: the pets' 3 breeds, in Kaggle's layout (train/<id>.jpg and labels.csv)
    "dogbreeds": Small(
        "oxford_pets",
        "pets",
        pets_breeds,
        what="the 450 Oxford-IIIT Pets photos of 3 breeds (2 cat, 1 dog) in Kaggle's dog-breed layout",
    ),
    # Pascal VOC has no small version: the pets' head boxes (cat or dog), the photos that have one
    "pascal": Small(
        "oxford_pets",
        "pets",
        pets_head_boxes,
        layout={"train_json": "train.json", "valid_json": "valid.json", "images": "images"},
        what="a fixed 200 of the Oxford-IIIT Pets photos with a head box (cat or dog), as COCO JSON; 20% held out",
    ),
    # lesson 13 paints a pets photo (the notebook's seed picks it; the paintings stay the generated ones)
    "style": Small(
        "oxford_pets",
        "pets",
        layout={"content": "images", "style": None},
        what="the 450 Oxford-IIIT Pets photos as content pictures (the paintings are generated in every mode)",
    ),
    # no small ImageNet exists: super resolution and fast style learn from the pets (any photos will do)
    "superres": Small(
        "oxford_pets",
        "pets",
        pets_superres,
        what="the 450 Oxford-IIIT Pets photos in Imagenette's layout (train/, val/; a fixed 20% held out)",
    ),
}

# The notebooks converted to small mode, and the lesson dataset each reads.
NOTEBOOKS = {
    "lesson01_dogs_cats": "dogscats",
    "lesson01b_convolutions": "dogscats",
    "lesson02_multilabel": "planet",
    "lesson02b_dog_breeds": "dogbreeds",
    "lesson03_segmentation": "camvid",
    "lesson04_imdb": "imdb",
    "lesson06_collab": "movielens",
    "lesson07_rnn": "nietzsche",
    "lesson08_pascal": "pascal",
    "lesson09_ssd": "pascal",
    "lesson10_ulmfit": "imdb",
    "lesson11_translation": "giga_fren",
    "lesson12_darknet": "cifar10",
    "lesson12b_wgan": "cifar10",
    "lesson13_style": "style",
    "lesson14_enhance": "superres",
    "lesson14b_carvana": "carvana",
}


# Lesson datasets with no small version at all, and why: small mode (and "auto" on a CPU) runs their generated sample
NO_SMALL = {
    "rossmann": "no small Rossmann exists (the real data is Kaggle's whole competition, 1,017,209 rows)",
    "horse2zebra": "no small real two-domain photo set is here (horse2zebra is 111 MB of 256x256 photos, too many "
    "for a CPU's minutes of CycleGAN)",
}
SAMPLE_INSTEAD = {"lesson05_tabular": "rossmann", "lesson13b_cyclegan": "horse2zebra"}  # notebooks: their dataset


# Full data built from another registry entry: Kaggle's dog breeds need a login, so all 37 Pets breeds in its layout.
FULL_BUILDS = {"dogbreeds": ("oxford_pets", pets_breeds)}  # lesson dataset: (the source, downloaded whole; builder)


def spec(name):
    """The ``Small`` of lesson dataset ``name``, or an error naming those that have one."""
    if name not in SMALL:
        has = ", ".join(sorted(SMALL))
        raise KeyError(f"{name!r} has no small version yet (those that do: {has}); use mode='sample' or 'full'.")
    return SMALL[name]


def shared_folder():
    """The folder ``COURSEKIT_SMALL_DATA`` names (None when unset)."""
    env = os.environ.get(ENV)
    return Path(env).expanduser() if env else None


def find_source(name, cache):
    """Where the small source of lesson dataset ``name`` is on this machine (None: not here): the full copy in
    the ``cache`` (with its completion marker ``complete``), else the named folder."""
    spec = SMALL[name]
    cached = cache / spec.source
    if (cached / ".coursekit-complete").exists():
        return cached
    shared = shared_folder()
    if shared and (shared / spec.shared_name).is_dir():
        return shared / spec.shared_name
    return None


def cpu_mode(mode, name, cache):
    """What ``mode`` 'small', or 'auto' on a CPU, means for lesson dataset ``name``: small when its small data is
    here (or asked for), else sample, with one line saying why where the lesson cannot run small mode."""
    if name in NO_SMALL:
        print(f"{NO_SMALL[name]}, so this runs the generated sample (sample mode)")
        return "sample"
    if name is not None and name not in SMALL:
        if mode == "small":
            print(f"{name!r} has no small mode yet, so this runs the generated sample (sample mode)")
        return "sample"
    if mode == "small" or (name in SMALL and find_source(name, cache)):
        return "small"
    if name in SMALL:
        print(f"No GPU and no small real data here, so sample mode. {how_to_get(name)}")
    return "sample"


def how_to_get(name):
    """What to do when the small source of ``name`` is nowhere: download it, or name a folder that holds it."""
    spec = SMALL[name]
    info = DATASETS[spec.source]
    size = format_size(info.size) if info.size else "size not published"
    fetch = (
        f"run with mode='small' to download it ({size})"
        if downloadable(name)
        else f"download it once with datasets.get_data({spec.source!r}, mode='full') ({size}; best on a fast link)"
    )
    return (
        f"The small data for {name!r} ({spec.what}) is not here: {fetch}, or set {ENV} to a folder "
        f"holding it as {spec.shared_name}/ (as ../shared/data does)."
    )


def downloadable(name):
    """Whether small mode may download the source of ``name`` by itself: a known size of a few MB."""
    info = DATASETS[SMALL[name].source]
    return bool(info.size) and info.size <= DOWNLOAD_LIMIT


def build_layout(name, source, dest, force=False, build=None):
    """The lesson layout of ``name`` built into ``dest`` from its small ``source`` (or from a full one by ``build``),
    once (a stamp says from what); one process builds at a time, and an interrupted build never looks complete."""
    stamp, marker = f"{name} from {source} version={BUILD_VERSION}", dest / STAMP
    if not force and marker.exists() and marker.read_text() == stamp:
        return dest
    with folder_lock(dest, f"Waiting for another process that is building the small {name}...") as since:
        if not force and marker.exists() and marker.read_text() == stamp:
            return dest
        remove_leftovers(dest, "building", since)
        remove_leftovers(dest, "old", since)
        tmp = dest.with_name(f"{dest.name}.building-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            (build or SMALL[name].build)(source, tmp)
            (tmp / STAMP).write_text(stamp)
            swap_into_place(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def notebooks(folder, cache):
    """(notebooks whose small data is present, {notebook: why it is skipped}) for the notebooks in ``folder``."""
    run, skipped = [], {}
    for nb in sorted(Path(folder).glob("lesson*.ipynb")):
        name = NOTEBOOKS.get(nb.stem)
        if nb.stem in SAMPLE_INSTEAD:
            skipped[nb] = f"{NO_SMALL[SAMPLE_INSTEAD[nb.stem]]}; in small mode it runs the generated sample"
        elif name is None:
            skipped[nb] = "no small mode yet (sample mode only)"
        elif find_source(name, cache) is None:
            skipped[nb] = how_to_get(name)
        else:
            run.append(nb)
    return run, skipped


if __name__ == "__main__":
    from coursekit.datasets import data_dir

    found, why = notebooks(sys.argv[1] if len(sys.argv) > 1 else "nbs", data_dir())
    for nb, reason in why.items():
        print(f"small mode skips {nb.name}: {reason}", file=sys.stderr)
    print(" ".join(str(nb) for nb in found))
