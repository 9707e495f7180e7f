"""The real sources of small mode that are not in the main registry: fast.ai's small samples and Tatoeba's
English-French pairs, each with its URL, size and checksum (``coursekit.small`` maps lesson datasets onto them)."""

from coursekit.registry import DatasetInfo, register_dataset


def fastai_sample(name, path, size, md5, lesson, what, licence):
    """Register one of fast.ai's small samples (``https://s3.amazonaws.com/<path>``, a folder ``name`` inside)."""
    url = f"https://s3.amazonaws.com/{path}"
    info = DatasetInfo(name, url, size, md5=md5, folder=name, lesson=lesson, description=what, licence=licence)
    return register_dataset(info)


# Sizes and md5s as fastai publishes them for its copies (fastai/data/checks.txt).
ML, FA = "GroupLens terms (acknowledge; no endorsement)", "fast-ai-sample"
fastai_sample(
    "movie_lens_sample",
    f"{FA}/movie_lens_sample.tgz",
    51790,
    "10961384dfe7c5181460390a460c1f77",
    6,
    "fast.ai's 6,031 MovieLens ratings (ratings.csv only: no movies.csv)",
    ML,
)
fastai_sample(
    "imdb_sample",
    f"{FA}/imdb_sample.tgz",
    571827,
    "0842e61a9867caa2e6fbdb14fa703d61",
    4,
    "fast.ai's 1,000 IMDB reviews in texts.csv (label,text,is_valid)",
    "research use (Maas et al. 2011)",
)
fastai_sample(
    "adult_sample",
    f"{FA}/adult_sample.tgz",
    968212,
    "64eb9d7e23732de0b138f7372d15492f",
    5,
    "fast.ai's copy of the UCI Adult census, 32,561 rows in adult.csv",
    "CC BY 4.0 (UCI)",
)
fastai_sample(
    "mnist_tiny",
    f"{FA}/mnist_tiny.tgz",
    342207,
    "56143e8f24db90d925d82a5a74141875",
    12,
    "fast.ai's MNIST 3s and 7s: train/, valid/, test/ and labels.csv",
    "CC BY-SA 3.0",
)
fastai_sample(
    "coco_tiny",
    "fast-ai-coco/coco_tiny.tgz",
    801038,
    "367467451ac4fba79a647753c2c66d3a",
    2,
    "fast.ai's 200 COCO images, 6 classes of boxes in train.json",
    "CC BY 4.0 (boxes); Flickr (images)",
)
register_dataset(
    DatasetInfo(
        # manythings.org's export of the Tatoeba English-French pairs (fra.txt, tab-separated, short to long). It is
        # re-exported as Tatoeba grows, so no size or checksum is published: the archive is listed before it is
        # cached, and download_url prints the sha256 it computed.
        "eng_fra",
        "https://www.manythings.org/anki/fra-eng.zip",
        lesson=11,
        description="Tatoeba English-French sentence pairs (fra.txt: English<TAB>French<TAB>attribution)",
        licence="CC BY 2.0 FR (Tatoeba)",
    )
)
