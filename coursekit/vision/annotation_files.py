"""Object-detection annotation files: COCO JSON and VOC XML read into ``Annotated`` items.

Both readers give ``(items, classes)``: a list of ``Annotated`` (one image file, its size and its boxes as
``xyxy`` pixels of the file) and the class names, whose position is the label.

Bad input: an annotation naming an image id or category id that the file does not have, or a VOC object
whose class is not in ``classes``, is a ``ValueError`` naming the annotation; a missing image file is a
``FileNotFoundError`` naming the annotation file; bad boxes are handled as ``boxes.check_box`` says (zero
width or height: error; sticking out of the image: clipped with a warning). A VOC file that is not
well-formed XML (cut short) is a ``ValueError`` naming the file, line and column; a VOC object without a
``<bndbox>``, or a coordinate missing or not a number, is one naming the file and the object. A COCO ``bbox``
missing or not 4 numbers is one naming the annotation (its index, id and image file); a COCO file with no
annotation at all (an empty list, or no key as in a test set's image list) is an error unless ``keep_empty``.
COCO entries without their keys (an image's ``id`` and ``file_name``, a category's ``id`` and ``name``), two
images or categories with one id, a VOC file without ``<filename>`` or an object without ``<name>``, and an
image size that is not a number are errors naming them; a size of 0 (or none) is read from the image file.
"""

import json
import xml.etree.ElementTree as ET
from xml.parsers.expat import ErrorString
from dataclasses import dataclass, field
from pathlib import Path

import torch

from coursekit.core import check_path
from coursekit.vision.boxes import check_box, coco_to_xyxy
from coursekit.vision.images import image_size


@dataclass
class Annotated:
    """One image and its objects: ``boxes`` (n, 4) float ``xyxy`` pixels of the file, ``labels`` (n,) class
    indices, ``size`` (width, height) of the file."""

    file: Path
    size: tuple
    boxes: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 4))
    labels: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    image_id: object = None


def read_coco(json_file, image_folder, keep_empty=False):
    """``(items, classes)`` from a COCO-layout JSON (``images``, ``annotations`` with ``bbox`` [x, y, w, h],
    ``categories``): the 2018 Pascal files and ``coco_tiny``. Classes are in category-id order; an image's
    width and height are read from its file when the JSON has none. Images without boxes are left out unless
    ``keep_empty``, which also reads a file with no annotation at all (a test set's images, to predict on)."""
    json_file = check_path(json_file, "annotation file", kind="file")
    folder = check_path(image_folder, "image folder", kind="folder")
    try:
        data = json.loads(json_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{json_file} is not valid JSON ({e}).") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{json_file} is not UTF-8 text (byte {e.start}): is it a JSON annotation file?") from None
    image_list, annotations, categories = _coco_lists(json_file, data, keep_empty)
    cats = sorted(categories, key=lambda c: c["id"])
    cat_index = {c["id"]: i for i, c in enumerate(cats)}
    classes = [c["name"] for c in cats]
    images = {}
    for im in image_list:
        file = folder / im["file_name"]
        if not file.exists():
            raise FileNotFoundError(
                f"{json_file}: image id {im['id']} names {file}, which does not exist; check the image folder."
            )
        size = _size(f"{json_file}: image id {im['id']} ({im['file_name']})", im.get("width"), im.get("height"), file)
        images[im["id"]] = (Annotated(file, size, image_id=im["id"]), [], [])
    for n, ann in enumerate(annotations):
        where = f"{json_file}: annotation {n} (id {ann.get('id', '?')})"
        if ann.get("image_id") not in images:
            raise ValueError(
                f"{where} names image_id {ann.get('image_id')!r}, which is not in 'images'. Fix the "
                "image id, or add the image."
            )
        item, bxs, labs = images[ann["image_id"]]
        where += f" of image {item.file.name}"
        if ann.get("category_id") not in cat_index:
            raise ValueError(
                f"{where} names category_id {ann.get('category_id')!r}, which is not in 'categories' "
                f"(ids: {sorted(cat_index)})."
            )
        bxs.append(check_box(_coco_bbox(ann, where), *item.size, where))
        labs.append(cat_index[ann["category_id"]])
    items = [_finish(*v) for v in images.values()]
    return [it for it in items if keep_empty or len(it.labels)], classes


def _coco_lists(json_file, data, keep_empty):
    """``(images, annotations, categories)`` of a COCO file's ``data``, checked (``_coco_entries``). A file
    without annotations (an empty list, or no key: a test set's image list) is an error unless ``keep_empty``
    asks for bare images."""
    missing = [k for k in ("images", "annotations", "categories") if not isinstance(data, dict) or k not in data]
    if missing and missing != ["annotations"]:
        raise ValueError(
            f"{json_file} has no {missing} key(s): a COCO-layout file needs 'images', 'annotations' and 'categories'."
        )
    images = _coco_entries(json_file, "images", data["images"], ("id", "file_name"))
    if not images:
        raise ValueError(f"{json_file} lists no image ('images' is empty), so there is nothing to read.")
    if missing and not keep_empty:
        raise ValueError(
            f"{json_file} has no 'annotations': it lists {len(images)} image(s) without boxes, as a COCO test "
            "set's file (image_info_test*.json) does. Read the file with the boxes (instances_*.json, or the "
            "lesson's pascal_*.json), or pass keep_empty=True to read the images alone (to predict on them)."
        )
    annotations = _coco_entries(json_file, "annotations", data.get("annotations", []), ())
    if not annotations and not keep_empty:
        raise ValueError(
            f"{json_file} lists {len(images)} image(s) but no annotation ('annotations' is empty): no box to "
            "learn from or measure. Read the file with the boxes, or pass keep_empty=True to read the images alone."
        )
    return images, annotations, _coco_entries(json_file, "categories", data["categories"], ("id", "name"))


def _coco_entries(json_file, key, entries, needed):
    """The ``key`` list ``entries`` checked: JSON objects, each with the keys ``needed``, and unique ids."""
    if not isinstance(entries, list):
        raise ValueError(f"{json_file}: '{key}' is {json.dumps(entries)[:80]}, not a list.")
    ids = {}
    for n, e in enumerate(entries):
        if not isinstance(e, dict):
            raise ValueError(
                f"{json_file}: {key}[{n}] is {json.dumps(e)[:80]}, not an object {{...}}; fix or delete it."
            )
        missing = [k for k in needed if k not in e]
        if missing:
            raise ValueError(
                f"{json_file}: {key}[{n}] ({json.dumps(e)[:80]}) has no {' or '.join(missing)}; a COCO file's "
                f"'{key}' entries need {' and '.join(needed)}. Fix it or delete it."
            )
        if "id" in needed and ids.setdefault(e["id"], n) != n:
            raise ValueError(
                f"{json_file}: {key}[{ids[e['id']]}] and {key}[{n}] have the same id {e['id']!r}; ids must differ."
            )
    return entries


def _size(where, width, height, file):
    """``(width, height)`` as the annotation gives them, or read from the image ``file`` when it gives none, 0
    (as some tools write) or less; a size that is not a number is an error."""
    try:
        wh = (int(float(width)), int(float(height)))
    except (TypeError, ValueError, OverflowError):
        if width is None or height is None:
            return image_size(file)
        raise ValueError(
            f"{where}: the size {width!r} x {height!r} is not a number of pixels; fix it, or delete it to read the "
            f"size from {file.name}."
        ) from None
    return wh if min(wh) > 0 else image_size(file)


def _coco_bbox(ann, where):
    """An annotation's COCO ``bbox`` ``[x, y, w, h]`` as ``xyxy``; one missing or not 4 numbers is an error."""
    if "bbox" not in ann:
        raise ValueError(f"{where} has no bbox; add one ([x, y, width, height] in pixels) or delete the annotation.")
    bbox = ann["bbox"]
    numbers = isinstance(bbox, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
    if not numbers or len(bbox) != 4:
        raise ValueError(
            f"{where} has the bbox {json.dumps(bbox)}; a COCO bbox is 4 numbers [x, y, width, height] (pixels). Fix it "
            "or delete the annotation."
        )
    return coco_to_xyxy(bbox).tolist()


def _finish(item, bxs, labs):
    item.boxes = torch.tensor(bxs, dtype=torch.float32).reshape(-1, 4)
    item.labels = torch.tensor(labs, dtype=torch.long)
    return item


def read_voc(xml_folder, image_folder, classes=None):
    """``(items, classes)`` from a folder of VOC XML files (one per image: ``filename``, ``size``, and an
    ``object`` with ``name`` and ``bndbox`` per box), e.g. ``pets/annotations/xmls``. Without ``classes``
    they are the object names found, sorted. VOC's pixel coordinates start at 1; they are used as they are."""
    xml_folder = check_path(xml_folder, "annotation folder", kind="folder")
    folder = check_path(image_folder, "image folder", kind="folder")
    files = sorted(xml_folder.glob("*.xml"))
    if not files:
        raise ValueError(f"{xml_folder} has no .xml annotation files.")
    parsed = []
    for xml in files:
        root = _parse_xml(xml)
        if not root.findtext("filename", "").strip():
            raise ValueError(f"{xml} has no <filename> naming its image: is it a VOC annotation (<annotation>)?")
        file = folder / root.findtext("filename").strip()
        if not file.is_file():
            raise FileNotFoundError(f"{xml} names the image {file}, which does not exist; check the image folder.")
        wh = _size(f"{xml}: <size>", *(root.findtext(f"size/{k}") for k in ("width", "height")), file)
        objs = []
        for k, o in enumerate(root.iter("object")):
            name = o.findtext("name", "").strip()
            if not name:
                raise ValueError(f"{xml}: object {k} has no <name>; write its class there or delete the object.")
            bndbox = o.find("bndbox")
            if bndbox is None:
                raise ValueError(
                    f"{xml}: object {k} ({name}) has no <bndbox>; an <object> needs a <bndbox> with <xmin>, <ymin>, "
                    "<xmax> and <ymax>. Add it or delete the object."
                )
            objs.append((name, [_voc_number(xml, bndbox, t, f"object {k} ({name})") for t in VOC_BOX]))
        parsed.append((xml, file, wh, objs))
    classes = list(classes) if classes is not None else sorted({n for *_, objs in parsed for n, _ in objs})
    index = {c: i for i, c in enumerate(classes)}
    items = []
    for xml, file, wh, objs in parsed:
        bxs, labs = [], []
        for k, (name, box) in enumerate(objs):
            if name not in index:
                raise ValueError(f"{xml}: object {k} has the class {name!r}, which is not one of {classes}.")
            bxs.append(check_box(box, *wh, f"{xml}: object {k} ({name})"))
            labs.append(index[name])
        items.append(_finish(Annotated(file, wh, image_id=xml.stem), bxs, labs))
    return items, classes


def _parse_xml(xml):
    """The root element of an XML file; a file that is not well-formed XML is a ``ValueError`` naming it, with
    the line and column (counted from 1, as editors count) where the parser stopped."""
    try:
        return ET.parse(xml).getroot()
    except ET.ParseError as e:
        line, column = e.position  # expat counts columns from 0
        raise ValueError(
            f"{xml}, line {line}, column {column + 1}: not well-formed XML ({ErrorString(e.code)}). A file cut "
            "short (an interrupted download or copy) stops like this: extract or download it again, or fix it."
        ) from None


VOC_BOX = ("xmin", "ymin", "xmax", "ymax")


def _voc_number(xml, element, tag, what):
    """The number in ``element``'s child ``<tag>``; a missing child or one that is not a number is a
    ``ValueError`` naming the file and ``what`` (the object)."""
    text = element.findtext(tag)
    if text is None:
        raise ValueError(
            f"{xml}: {what} has no <{tag}> in its <{element.tag}>; add it (in pixels) or delete the object."
        )
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{xml}: {what} has <{tag}>{text}</{tag}>, which is not a number; write the number of pixels there."
        ) from None
