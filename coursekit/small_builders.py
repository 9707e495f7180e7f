"""Lesson layouts built from small real sources, for ``coursekit.small`` (kept apart so that small.py stays small):
the lesson's own on-disk layout made from a small real dataset, so a notebook's loaders are the same in every mode.
The core never imports a domain, so the files are read here with the standard library.

- ``imdb_folders`` turns fast.ai's ``imdb_sample`` (one ``texts.csv``: label,text,is_valid) into the Large Movie
  Review Dataset's layout that lessons 4 and 10 read (``train/{neg,pos}``, ``test/{neg,pos}``, one ``.txt`` file
  per review);
- ``giga_fren_files`` turns Tatoeba's ``fra.txt`` pairs into the two line-aligned giga-fren files that lesson 11 reads;
- ``coco_tags_csv``: lesson 2 reads a Planet-style multi-label table (``labels.csv``: ``image_name,tags``, the tags
  space-separated) and a folder of JPEGs. No small Planet exists; fast.ai's ``coco_tiny`` (COCO photos with the
  boxes of 6 object classes in ``train.json``) is read as multi-label: an image's tags are the classes of its boxes.
"""

import csv
import json
from pathlib import Path

IMDB_LABELS = {"negative": "neg", "positive": "pos"}  # imdb_sample's labels -> aclImdb's class folders
IMDB_SPLITS = {"false": "train", "true": "test"}  # is_valid -> aclImdb's split folder
# giga-fren's two files, as the real archive names them (coursekit.text.pairs reads them by these names)
EN_FILE, FR_FILE = "giga-fren.release2.fixed.en", "giga-fren.release2.fixed.fr"


def imdb_folders(src, dest):
    """aclImdb's ``train/{neg,pos}`` and ``test/{neg,pos}`` from ``src/texts.csv``: its ``is_valid`` rows become
    the test split. imdb_sample has no ratings and no unlabelled reviews, so a file is named by the review's row
    in the CSV (``0007.txt``: the 8th review) and there is no ``train/unsup``."""
    path = Path(src) / "texts.csv"
    if not path.is_file():
        raise FileNotFoundError(f"No texts.csv in {src}: is it fast.ai's imdb_sample folder (texts.csv)?")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"label", "text", "is_valid"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path} has columns {reader.fieldnames}, without {sorted(missing)}: fast.ai's imdb_sample has "
                "the header label,text,is_valid."
            )
        for row, review in enumerate(reader):
            label = IMDB_LABELS.get(review["label"].strip().lower())
            split = IMDB_SPLITS.get(review["is_valid"].strip().lower())
            if label is None or split is None or not review["text"].strip():
                raise ValueError(
                    f"{path}, review {row + 1} (line {reader.line_num}): label {review['label']!r}, is_valid "
                    f"{review['is_valid']!r}, {len(review['text'])} characters of text; expected a label "
                    f"{' or '.join(IMDB_LABELS)}, is_valid True or False, and some text."
                )
            out = Path(dest) / split / label / f"{row:04d}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(review["text"], encoding="utf-8")


def giga_fren_files(src, dest):
    """Lesson 11's giga-fren layout (two line-aligned files, English and French) from Tatoeba's ``src/fra.txt``
    (``English<TAB>French[<TAB>attribution]``): every pair, line i of one file translating line i of the other.
    The lesson's reader then keeps the "Wh...?" questions, as it does on giga-fren."""
    path = Path(src) / "fra.txt"
    if not path.is_file():
        raise FileNotFoundError(f"No fra.txt in {src}: is it the Tatoeba English-French folder (fra.txt)?")
    Path(dest).mkdir(parents=True, exist_ok=True)
    with (
        path.open(encoding="utf-8-sig") as pairs,
        (Path(dest) / EN_FILE).open("w", encoding="utf-8") as en,
        (Path(dest) / FR_FILE).open("w", encoding="utf-8") as fr,
    ):
        for i, line in enumerate(pairs, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
                raise ValueError(
                    f"{path}, line {i}: {line[:60]!r} is not 'English<TAB>French': each line of fra.txt is one pair."
                )
            en.write(parts[0].strip() + "\n")
            fr.write(parts[1].strip() + "\n")


def coco_tags_csv(src, dest):
    """``dest/labels.csv`` (one row per image: its file name without ``.jpg``, and the sorted names of the classes
    it has a box of) and ``dest/train/*.jpg`` (linked, or copied) from a COCO-style ``src/train.json`` and
    ``src/train/``. An image with no box gets no row (a multi-label image with no tag is no use to the lesson)."""
    from coursekit.small import link_or_copy  # here, not at the top: small imports this module

    src, dest = Path(src), Path(dest)
    meta_file = src / "train.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"No {meta_file}: is {src} fast.ai's coco_tiny folder (train.json, train/)?")
    meta = json.loads(meta_file.read_text())
    try:
        names = {c["id"]: c["name"] for c in meta["categories"]}
        files = {im["id"]: im["file_name"] for im in meta["images"]}
        tags = {}
        for a in meta["annotations"]:
            tags.setdefault(a["image_id"], set()).add(names[a["category_id"]])
    except KeyError as e:
        raise ValueError(
            f"{meta_file} is not COCO-style: missing key {e} (it needs categories with id and name, images with "
            "id and file_name, annotations with image_id and category_id)."
        ) from None
    (dest / "train").mkdir(parents=True, exist_ok=True)
    with open(dest / "labels.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["image_name", "tags"])
        for image_id in sorted(tags):
            name = files[image_id]
            if not name.lower().endswith(".jpg"):
                raise ValueError(f"{meta_file}: image {image_id} is {name!r}, not a .jpg; lesson 2 reads JPEGs.")
            link_or_copy(src / "train" / name, dest / "train" / name)
            out.writerow([name[: -len(".jpg")], " ".join(sorted(tags[image_id]))])
