"""Lesson layouts built from small real sources, for ``coursekit.small`` (kept apart so that small.py stays small):
the lesson's own on-disk layout made from a small real dataset, so a notebook's loaders are the same in every mode.
The core never imports a domain, so the files are read here with the standard library.

- ``pets_cats_dogs`` makes lesson 1's ``train/valid/{cats,dogs}`` from Oxford-IIIT Pets photos;
- ``imdb_folders`` turns fast.ai's ``imdb_sample`` (one ``texts.csv``: label,text,is_valid) into the Large Movie
  Review Dataset's layout that lessons 4 and 10 read (``train/{neg,pos}``, ``test/{neg,pos}``, one ``.txt`` file
  per review);
- ``giga_fren_files`` turns Tatoeba's ``fra.txt`` pairs into the two line-aligned giga-fren files that lesson 11 reads;
- ``coco_tags_csv``: lesson 2 reads a Planet-style multi-label table (``labels.csv``: ``image_name,tags``, the tags
  space-separated) and a folder of JPEGs. No small Planet exists; fast.ai's ``coco_tiny`` (COCO photos with the
  boxes of 6 object classes in ``train.json``) is read as multi-label: an image's tags are the classes of its boxes;
- ``pets_trimaps`` and ``pets_head_boxes`` make, from Oxford-IIIT Pets (``images/``, ``annotations/trimaps/``,
  ``annotations/xmls/``), lesson 14b's photos and masks and lessons 8 and 9's head boxes as COCO JSON. Photos are
  hard-linked (or copied) and each subset is fixed and seeded, the same whatever the notebook's seed;
- ``pets_superres`` makes lesson 14's Imagenette-like photo folders (``train/pets/``, ``val/pets/``) from every Pets
  photo, a fixed, seeded share held out;
- ``pets_breeds`` makes lesson 2b's Kaggle dog-breed layout (``train/<id>.jpg``, ``labels.csv``) from every Pets
  photo: the small copy's 3 breeds, or, in full mode, all 37 (Kaggle's own data needs a login).
"""

import csv
import hashlib
import json
import os
import random
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

IMDB_LABELS = {"negative": "neg", "positive": "pos"}  # imdb_sample's labels -> aclImdb's class folders
IMDB_SPLITS = {"false": "train", "true": "test"}  # is_valid -> aclImdb's split folder
# giga-fren's two files, as the real archive names them (coursekit.text.pairs reads them by these names)
EN_FILE, FR_FILE = "giga-fren.release2.fixed.en", "giga-fren.release2.fixed.fr"


def link_or_copy(src, dest):
    """``dest`` as a hard link to ``src`` (no extra space), or a copy where linking is not possible."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def pets_cats_dogs(src, dest, per_class=100, valid_pct=0.25, seed=0):
    """Lesson 1's ``train/valid/{cats,dogs}`` from Oxford-IIIT Pets photos (``src/images``): a cat breed's file
    name starts upper-case, a dog breed's lower-case. A fixed, seeded subset of ``per_class`` photos of each,
    the same whatever the notebook's seed, ``valid_pct`` of them for validation."""
    images = Path(src) / "images"
    photos = sorted(p for p in images.iterdir() if p.suffix.lower() == ".jpg") if images.is_dir() else []
    if not photos:
        raise FileNotFoundError(f"No .jpg photos in {images}: is {src} the Oxford-IIIT Pets folder (images/)?")
    rng = random.Random(seed)
    for label, keep in (("cats", str.isupper), ("dogs", str.islower)):
        mine = [p for p in photos if keep(p.name[0])]
        chosen = rng.sample(mine, min(per_class, len(mine)))
        n_valid = round(len(chosen) * valid_pct)
        for i, p in enumerate(chosen):
            link_or_copy(p, Path(dest) / ("valid" if i < n_valid else "train") / label / p.name)


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


def _photos_with(src, folder, suffix, what):
    """{photo stem: annotation file} for the photos in ``src/images`` that have ``src/folder/<stem><suffix>``."""
    images, annotations = Path(src) / "images", Path(src) / folder
    if not images.is_dir() or not annotations.is_dir():
        raise FileNotFoundError(
            f"{src} has no images/ or no {folder}/: is it the Oxford-IIIT Pets folder (images/ and annotations/ with "
            f"{what})?"
        )
    photos = {p.stem: p for p in images.iterdir() if p.suffix.lower() == ".jpg"}
    found = {p.stem[: len(p.name) - len(suffix)]: p for p in annotations.iterdir() if p.name.endswith(suffix)}
    return {stem: (photos[stem], found[stem]) for stem in sorted(photos.keys() & found.keys())}


def pets_trimaps(src, dest, n=450, seed=0):
    """Lesson 14b's pets in their own layout (``images/<name>.jpg``, ``annotations/trimaps/<name>.png``): a fixed,
    seeded ``n`` of the photos that have a trimap (all of them where there are fewer)."""
    pairs = _photos_with(src, "annotations/trimaps", ".png", "the trimaps")
    if not pairs:
        raise FileNotFoundError(f"No photo in {src}/images has a trimap in {src}/annotations/trimaps.")
    for stem in random.Random(seed).sample(sorted(pairs), min(n, len(pairs))):
        photo, trimap = pairs[stem]
        link_or_copy(photo, Path(dest) / "images" / photo.name)
        link_or_copy(trimap, Path(dest) / "annotations" / "trimaps" / trimap.name)


def voc_to_coco(xml_files, image_ids):
    """(images, annotations) in the COCO layout from VOC XML files: ``bbox`` is ``[x, y, w, h]`` from VOC's
    ``xmin, ymin, xmax, ymax`` (pixels as written; a box sticking out of its photo is left for the reader, which
    clips it with a warning). ``image_ids`` gives each file's image id."""
    images, annotations = [], []
    for xml in xml_files:
        try:
            root = ET.parse(xml).getroot()
        except ET.ParseError as e:
            line, column = e.position
            raise ValueError(f"{xml}, line {line}, column {column + 1}: not well-formed XML ({e}).") from None
        size = root.find("size")
        try:
            w, h = (int(size.findtext(k)) for k in ("width", "height"))
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"{xml}: no <size> with a whole <width> and <height>.") from None
        image_id = image_ids[xml]
        images.append({"id": image_id, "file_name": root.findtext("filename").strip(), "width": w, "height": h})
        for k, obj in enumerate(root.iter("object")):
            try:
                x0, y0, x1, y1 = (float(obj.findtext(f"bndbox/{t}")) for t in ("xmin", "ymin", "xmax", "ymax"))
            except (TypeError, ValueError):
                raise ValueError(f"{xml}: object {k} has no <bndbox> of four numbers.") from None
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": obj.findtext("name").strip(),  # a name here; an id once categories are known
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
    return images, annotations


def pets_head_boxes(src, dest, n=200, valid_pct=0.2, seed=0):
    """Lessons 8 and 9's pets: a fixed, seeded ``n`` of the photos with a VOC head box (``annotations/xmls``, about
    half of them; all where there are fewer), their boxes as COCO JSON like the 2018 Pascal files (``train.json``
    and ``valid.json``, classes ``cat`` and ``dog``) and the photos in ``images/``; a fixed, seeded ``valid_pct``
    of them for validation."""
    pairs = _photos_with(src, "annotations/xmls", ".xml", "the head boxes in xmls/")
    if not pairs:
        raise FileNotFoundError(f"No photo in {src}/images has a head box in {src}/annotations/xmls.")
    rng = random.Random(seed)
    stems = sorted(rng.sample(sorted(pairs), min(n, len(pairs))))
    valid = set(rng.sample(stems, round(len(stems) * valid_pct)))
    ids = {pairs[s][1]: i + 1 for i, s in enumerate(stems)}
    for split, keep in (("train", lambda s: s not in valid), ("valid", lambda s: s in valid)):
        images, annotations = voc_to_coco([pairs[s][1] for s in stems if keep(s)], ids)
        if split == "train":
            names = sorted({a["category_id"] for a in annotations})
            categories = [{"id": i + 1, "name": c} for i, c in enumerate(names)]
        index = {c["name"]: c["id"] for c in categories}
        for a in annotations:
            if a["category_id"] not in index:
                raise ValueError(f"A {split} box has the class {a['category_id']!r}, which no training box has.")
            a["category_id"] = index[a["category_id"]]
        coco = {"images": images, "annotations": annotations, "categories": categories}
        Path(dest).mkdir(parents=True, exist_ok=True)
        (Path(dest) / f"{split}.json").write_text(json.dumps(coco))
    for stem in stems:
        link_or_copy(pairs[stem][0], Path(dest) / "images" / pairs[stem][0].name)


def pets_superres(src, dest, valid_pct=0.2, seed=0):
    """Lesson 14's photo folders as Imagenette lays them out (``train/<class>/``, ``val/<class>/``; one class,
    ``pets``) from every Oxford-IIIT Pets photo (``src/images``): a fixed, seeded ``valid_pct`` held out, the same
    whatever the notebook's seed. Super resolution needs no labels, only photos."""
    images = Path(src) / "images"
    photos = sorted(p for p in images.iterdir() if p.suffix.lower() == ".jpg") if images.is_dir() else []
    if not photos:
        raise FileNotFoundError(f"No .jpg photos in {images}: is {src} the Oxford-IIIT Pets folder (images/)?")
    valid = set(random.Random(seed).sample(photos, round(len(photos) * valid_pct)))
    for p in photos:
        link_or_copy(p, Path(dest) / ("val" if p in valid else "train") / "pets" / p.name)


def pets_breeds(src, dest):
    """Lesson 2b's Kaggle dog-breed layout from Oxford-IIIT Pets photos (``src/images``): ``train/<id>.jpg`` and
    ``labels.csv`` (``id,breed``). A Pets file is named ``<breed>_<number>.jpg``; the id is a hash of that name, so,
    as on Kaggle, only the CSV says the breed. Every photo, all breeds (3 in the small copy, 37 in the full one)."""
    images = Path(src) / "images"
    photos = sorted(p for p in images.iterdir() if p.suffix.lower() == ".jpg") if images.is_dir() else []
    if not photos:
        raise FileNotFoundError(f"No .jpg photos in {images}: is {src} the Oxford-IIIT Pets folder (images/)?")
    rows = []
    for p in photos:
        breed, _, number = p.stem.rpartition("_")
        if not breed or not number.isdigit():
            raise ValueError(f"{p} is not named <breed>_<number>.jpg, as Oxford-IIIT Pets photos are; move it out.")
        name = hashlib.sha1(p.stem.encode()).hexdigest()[:16]
        link_or_copy(p, Path(dest) / "train" / f"{name}.jpg")
        rows.append((name, breed.lower()))
    with open(Path(dest) / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([("id", "breed"), *rows])
