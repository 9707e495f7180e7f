"""Builders of lesson layouts from Oxford-IIIT Pets for the ``small`` mode (``coursekit.small``): each makes, from
the real files in ``src`` (the Oxford-IIIT layout: ``images/``, ``annotations/trimaps/``, ``annotations/xmls/``),
the folder a lesson's loader reads, in ``dest``. Photos are hard-linked (or copied) and a subset is fixed and
seeded, the same whatever the notebook's seed."""

import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path


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
    from coursekit.small import link_or_copy  # here: coursekit.small imports this module

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
    from coursekit.small import link_or_copy  # here: coursekit.small imports this module

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
