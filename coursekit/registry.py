"""The real datasets the course uses: where each lives, how big it is, its checksum, the folder its archive
holds. ``datasets.get_data`` downloads them; a later lesson adds its own with ``register_dataset``."""

from dataclasses import dataclass

from coursekit.download_progress import format_size


@dataclass
class DatasetInfo:
    """A real dataset: where it lives, how big it is, its checksum, and the folder its archive holds."""

    name: str
    url: str
    size: int = None  # bytes, as published
    sha256: str = None  # whichever checksum is published; None where none is known
    md5: str = None
    folder: str = None  # the top folder inside the archive (None: whatever single folder it has)
    lesson: int = None
    description: str = ""
    licence: str = ""
    layout: dict = None  # names of the files a loader needs, where they differ from the sample's

    def __repr__(self):
        size = format_size(self.size) if self.size else "size unknown"
        check = "sha256" if self.sha256 else "md5" if self.md5 else "no checksum"
        return f"DatasetInfo({self.name!r}, lesson {self.lesson}, {size}, {check}, {self.url})"


class Registry(dict):
    """A dict of ``DatasetInfo`` by name that prints one entry per line."""

    def __repr__(self):
        return "{\n" + "".join(f"  {k!r}: {v!r},\n" for k, v in self.items()) + "}"


DATASETS = Registry()


def register_dataset(info):
    """Add a real dataset to the registry (later lessons add theirs)."""
    DATASETS[info.name] = info
    return info


# Sizes and md5s below are the ones fastai publishes for its copies (fastai/data/checks.txt).
register_dataset(
    DatasetInfo(
        # The 2018 notebook fetched http://files.fast.ai/data/dogscats.zip, for which no checksum is
        # published; this is fast.ai's current copy of the same train/valid/{cats,dogs} folders, with one.
        "dogscats",
        "https://s3.amazonaws.com/fast-ai-sample/dogscats.tgz",
        size=839285364,
        md5="3e483c8d6ef2175e9d395a6027eb92b7",
        folder="dogscats",
        lesson=1,
        description="25,000 Kaggle dogs-vs-cats photos as train/valid/{cats,dogs} (the 2018 lesson-1 data)",
        licence="Kaggle Dogs vs. Cats (Microsoft Asirra) terms",
    )
)
register_dataset(
    DatasetInfo(
        "oxford_pets",
        "https://s3.amazonaws.com/fast-ai-imageclas/oxford-iiit-pet.tgz",
        size=811706944,
        md5="e4db5c768afd933bb91f5f594d7417a4",
        folder="oxford-iiit-pet",
        lesson=1,
        description="Oxford-IIIT Pets: 7,349 photos of 37 breeds (images/), trimaps and head boxes (annotations/)",
        licence="CC BY-SA 4.0 (Parkhi et al. 2012)",
    )
)
register_dataset(
    DatasetInfo(
        "planet",
        "https://s3.amazonaws.com/fast-ai-sample/planet_sample.tgz",
        size=15523994,
        md5="8bfb174b3162f07fbde09b54555bdb00",
        folder="planet_sample",
        lesson=2,
        layout={"labels": "labels.csv", "images": "train"},
        description="Planet: Understanding the Amazon from Space, fast.ai's 1,000-tile sample with tags",
        licence="Planet Labs competition data (research use)",
    )
)
register_dataset(
    DatasetInfo(
        "camvid",
        "https://s3.amazonaws.com/fast-ai-imagelocal/camvid.tgz",
        size=598913237,
        md5="648371e4f3a833682afb39b08a3ce2aa",
        folder="camvid",
        lesson=3,
        description="CamVid street scenes: 701 frames with 32-class label masks, codes.txt and valid.txt",
        licence="research use (Brostow et al. 2008)",
    )
)
register_dataset(
    DatasetInfo(
        "camvid_tiny",
        "https://s3.amazonaws.com/fast-ai-sample/camvid_tiny.tgz",
        size=2314212,
        md5="2cf6daf91b7a2083ecfa3e9968e9d915",
        folder="camvid_tiny",
        lesson=3,
        description="CamVid tiny: 100 frames with label masks and codes.txt",
        licence="research use (Brostow et al. 2008)",
    )
)

register_dataset(
    DatasetInfo(
        # GroupLens publishes no checksum for this archive; download_url prints the sha256 it computes.
        "movielens",
        "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
        folder="ml-latest-small",
        lesson=6,
        description="MovieLens ml-latest-small: about 100,000 ratings (ratings.csv) of 9,000 movies (movies.csv)",
        licence="GroupLens terms (acknowledge; no endorsement)",
    )
)

register_dataset(
    DatasetInfo(
        # The archive the 2018 lesson downloads; no checksum is published, download_url prints the sha256.
        "rossmann",
        "http://files.fast.ai/part2/lesson14/rossmann.tgz",
        lesson=5,
        description="Rossmann store sales (Kaggle): train.csv, store.csv and the external tables of the 2018 lesson",
        licence="Kaggle competition data (research use)",
    )
)

register_dataset(
    DatasetInfo(
        # Size and sha256 as TensorFlow Datasets records them (url_checksums/imdb_reviews.txt); the md5 is the
        # one torchtext and Paddle check. The 2018 lesson used fast.ai's copy of the same archive.
        "imdb",
        "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
        size=84125825,
        sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
        md5="7c2ac02c03563afcf9b574c7e56c153a",
        folder="aclImdb",
        lesson=4,
        description="Large Movie Review Dataset v1.0: 25,000 train and 25,000 test reviews (pos/neg), "
        "50,000 unlabelled",
        licence="research use; cite Maas et al. 2011 (ACL)",
    )
)

register_dataset(
    DatasetInfo(
        # A plain text file, not an archive (datasets._full keeps it as is). Nothing is published for it: the size
        # and sha256 are those of the copy in ../shared/data/nietzsche, which has the 600,893 characters the 2018
        # lesson printed.
        "nietzsche",
        "https://s3.amazonaws.com/text-datasets/nietzsche.txt",
        size=600901,
        sha256="23cf69874ab69d3d256099ab530ea4be24d47d9675b673bcc67cbcd6298ec647",
        lesson=7,
        layout={"text": "nietzsche.txt"},
        description="Nietzsche's works in English translation as one text file (600,893 characters; the 2018 char-RNN)",
        licence="public domain (Project Gutenberg translations)",
    )
)

register_dataset(
    DatasetInfo(
        # fast.ai's copy of the WMT giga-fren corpus, used by its NLP course; size and md5 as fastai publishes them
        # (fastai/data/checks.txt). The 2018 lesson downloaded training-giga-fren.tar (about 2.4 GiB) from
        # http://www.statmt.org/wmt10/ instead: the same two files, gzipped inside a tar.
        "giga_fren",
        "https://s3.amazonaws.com/fast-ai-nlp/giga-fren.tgz",
        size=2598183296,
        md5="69573f58e2c850b90f2f954077041d8c",
        folder="giga-fren",
        lesson=11,
        layout={"en": "giga-fren.release2.fixed.en", "fr": "giga-fren.release2.fixed.fr"},
        description="WMT giga-fren: 22.5 million aligned English/French sentences (the lesson keeps the 'Wh...?' "
        "questions, about 52,000 pairs)",
        licence="WMT shared-task data (research use; Callison-Burch et al. 2009)",
    )
)

register_dataset(
    DatasetInfo(
        # fast.ai's PNG copy of CIFAR-10 (train/<class>/, test/<class>/, labels.txt); size and md5 as fastai publishes
        # them (fastai/data/checks.txt). The 2018 cifar10-darknet notebook fetched http://files.fast.ai/data/cifar10.tgz.
        "cifar10",
        "https://s3.amazonaws.com/fast-ai-sample/cifar10.tgz",
        size=168168549,
        md5="a5f8c31371b63a406b23368042812d3c",
        folder="cifar10",
        lesson=12,
        layout={"train": "train", "valid": "test", "labels": "labels.txt"},
        description="CIFAR-10: 50,000 training and 10,000 test 32x32 PNGs of 10 classes (the 2018 Darknet data)",
        licence="research use (Krizhevsky 2009)",
    )
)
register_dataset(
    DatasetInfo(
        # fast.ai's copy of the 20% LSUN bedroom sample the 2018 wgan notebook pointed to; size and md5 as fastai
        # publishes them (fastai/data/checks.txt). About 4.6 GB: the notebook uses CIFAR-10 unless asked.
        "lsun_bedroom",
        "https://s3.amazonaws.com/fast-ai-imageclas/bedroom.tgz",
        size=4579163978,
        md5="35d84f38f8a15fe47e66e460c8800d68",
        folder="bedroom",
        lesson=12,
        description="LSUN bedrooms, a 20% sample of JPEGs in nested folders (the 2018 WGAN data)",
        licence="LSUN terms (research use; Yu et al. 2015)",
    )
)

register_dataset(
    DatasetInfo(
        # fast.ai's copy of Pascal VOC 2007 with the COCO-layout JSON boxes the 2018 lessons 8 and 9 read
        # (pascal_train2007.json and pascal_val2007.json there, train.json and valid.json here; the images of both
        # in train/); size and md5 as fastai publishes them (fastai/data/checks.txt). Named "pascal" like the sample.
        "pascal",
        "https://s3.amazonaws.com/fast-ai-imagelocal/pascal_2007.tgz",
        size=1637796771,
        md5="433b4706eb7c42bd74e7f784e3fdf244",
        folder="pascal_2007",
        lesson=8,
        layout={"train_json": "train.json", "valid_json": "valid.json", "images": "train"},
        description="Pascal VOC 2007: 20 classes, 2,501 training and 2,510 validation photos with boxes "
        "(COCO-layout JSON)",
        licence="Flickr terms of use (Everingham et al. 2010)",
    )
)

register_dataset(
    DatasetInfo(
        # Lesson 14's super resolution learns from photos (2018: an ImageNet sample). Imagenette is fast.ai's
        # 10-class ImageNet subset; this copy has the shorter side at 320 px, big enough for 256-px crops. Size
        # and md5 as fastai publishes them (checks.txt; torchvision's Imagenette checks the same md5). Named
        # "superres" like its offline sample, so get_data("superres") reads either with the same loader.
        "superres",
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
        size=341663724,
        md5="3df6f0d01a2c9592104656642f5e78a3",
        folder="imagenette2-320",
        lesson=14,
        layout={"train": "train", "valid": "val"},
        description="Imagenette 320 px: 9,469 training and 3,925 validation ImageNet photos of 10 classes "
        "(train/<wnid>/, val/<wnid>/), the photos super resolution learns from",
        licence="ImageNet terms (non-commercial research and education)",
    )
)

register_dataset(
    DatasetInfo(
        # The archive the 2018 CycleGAN notebook downloads, from the CycleGAN authors. They publish no checksum; size
        # and sha256 as TensorFlow Datasets records them for this URL (tensorflow_datasets/url_checksums/cycle_gan.txt).
        "horse2zebra",
        "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/horse2zebra.zip",
        size=116867962,
        sha256="a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1",
        folder="horse2zebra",
        lesson=13,
        layout={"train_a": "trainA", "train_b": "trainB", "test_a": "testA", "test_b": "testB"},
        description="ImageNet photos of horses (trainA, testA) and zebras (trainB, testB), 256x256 JPEGs, unpaired "
        "(the 2018 CycleGAN data)",
        licence="ImageNet terms (non-commercial research and education)",
    )
)
