"""Lesson layouts built from small real sources, for ``coursekit.small`` (kept apart so that small.py stays small).

``coco_tags_csv``: lesson 2 reads a Planet-style multi-label table (``labels.csv``: ``image_name,tags``, the tags
space-separated) and a folder of JPEGs. No small Planet exists; fast.ai's ``coco_tiny`` (COCO photos with the boxes
of 6 object classes in ``train.json``) is read as multi-label: an image's tags are the classes of its boxes.
"""

import csv
import json
from pathlib import Path


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
