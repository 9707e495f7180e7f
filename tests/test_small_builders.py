"""Small mode's lesson layouts built from Oxford-IIIT Pets (``coursekit.small_builders``), on a fake pets folder in
tmp_path: lessons 8-9's head boxes converted from VOC XML to COCO JSON read back by lesson 8's reader exactly as its
VOC reader reads the XML files, and lesson 14b's trimap subset read by the lesson's loader."""

import json
import random

import pytest
import torch
from PIL import Image

from coursekit import small_builders
from coursekit.vision import binary_seg, detection_data, superres


def voc_xml(name, w, h, objects):
    objs = "".join(
        f"<object><name>{c}</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>"
        "</bndbox></object>"
        for c, (x0, y0, x1, y1) in objects
    )
    return (
        f"<annotation><filename>{name}.jpg</filename><size><width>{w}</width><height>{h}</height><depth>3</depth>"
        f"</size>{objs}</annotation>"
    )


def fake_pets(root, n=20, boxed=12):
    """``n`` photos (cats upper-case, dogs lower-case) with trimaps; the first ``boxed`` with a VOC head box, one
    of them with two heads."""
    rng = random.Random(1)
    for sub in ("images", "annotations/trimaps", "annotations/xmls"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = f"Bengal_{i}" if i % 2 else f"beagle_{i}"
        w, h = rng.randint(40, 60), rng.randint(30, 50)
        Image.new("RGB", (w, h), (i * 10, 50, 90)).save(root / "images" / f"{name}.jpg")
        Image.new("L", (w, h), 2).save(root / "annotations" / "trimaps" / f"{name}.png")
        if i < boxed:
            kind = "cat" if i % 2 else "dog"
            heads = [(kind, (rng.randint(1, 9), rng.randint(1, 9), rng.randint(20, w), rng.randint(15, h)))]
            if i == 3:
                heads.append(("dog", (2, 3, 12, 14)))
            (root / "annotations" / "xmls" / f"{name}.xml").write_text(voc_xml(name, w, h, heads))
    return root


def test_head_boxes_as_coco_json_read_back_as_the_voc_files_say(tmp_path):
    src = fake_pets(tmp_path / "pets")
    dest = tmp_path / "built"
    small_builders.pets_head_boxes(src, dest)
    train, classes = detection_data.read_coco(dest / "train.json", dest / "images")
    valid, valid_classes = detection_data.read_coco(dest / "valid.json", dest / "images")
    reference, voc_classes = detection_data.read_voc(src / "annotations" / "xmls", src / "images")
    assert classes == valid_classes == voc_classes == ["cat", "dog"]
    assert len(valid) == round(0.2 * 12) and len(train) + len(valid) == 12  # photos without a box are left out
    assert not {it.file.name for it in train} & {it.file.name for it in valid}
    by_name = {it.file.name: it for it in reference}
    for it in train + valid:
        ref = by_name[it.file.name]
        assert it.size == ref.size and torch.equal(it.labels, ref.labels)
        torch.testing.assert_close(it.boxes, ref.boxes)
    assert sorted(p.name for p in (dest / "images").iterdir()) == sorted(by_name)
    assert sum(len(it.labels) for it in train + valid) == 13  # the photo with two heads keeps both


def test_the_head_box_subset_and_split_are_fixed_whatever_the_notebook_seed(tmp_path):
    src = fake_pets(tmp_path / "pets")
    for dest in (tmp_path / "a", tmp_path / "b"):
        small_builders.pets_head_boxes(src, dest, n=10)
    built = [
        [json.loads((d / f"{split}.json").read_text())["images"] for split in ("train", "valid")]
        for d in (tmp_path / "a", tmp_path / "b")
    ]
    assert built[0] == built[1]
    train, valid = built[0]
    assert len(train) + len(valid) == 10 and len(valid) == 2  # 10 of the 12 boxed photos, 20% of them held out
    assert len(list((tmp_path / "a" / "images").iterdir())) == 10


def test_a_broken_voc_file_is_named_with_its_line(tmp_path):
    src = fake_pets(tmp_path / "pets")
    (src / "annotations" / "xmls" / "beagle_0.xml").write_text("<annotation><filename>beagle_0.jpg\n<size>")
    with pytest.raises(ValueError, match=r"beagle_0\.xml, line 2"):
        small_builders.pets_head_boxes(src, tmp_path / "built")


def test_a_folder_without_pets_annotations_says_what_it_expected(tmp_path):
    (tmp_path / "photos" / "images").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="Oxford-IIIT Pets"):
        small_builders.pets_head_boxes(tmp_path / "photos", tmp_path / "built")


def test_trimap_subset_is_fixed_and_read_by_the_lessons_loader(tmp_path):
    src = fake_pets(tmp_path / "pets")
    (src / "images" / "beagle_0.jpg").rename(src / "images" / "lost.jpg.bak")  # a trimap without its photo
    for dest in (tmp_path / "a", tmp_path / "b"):
        small_builders.pets_trimaps(src, dest, n=10)
    names = [sorted(p.name for p in (d / "images").iterdir()) for d in (tmp_path / "a", tmp_path / "b")]
    assert names[0] == names[1] and len(names[0]) == 10 and "beagle_0.jpg" not in names[0]
    lay = binary_seg.LAYOUTS["oxford_pets"]
    items, masks = binary_seg.binary_items(tmp_path / "a", lay["images"], lay["masks"], lay["suffix"], lay["positive"])
    assert [p.name for p in items] == names[0] and all(m.stem == p.stem for p, m in zip(items, masks))


def test_superres_folders_hold_every_pets_photo_once_with_a_fixed_held_out_fifth(tmp_path):
    src = fake_pets(tmp_path / "pets")
    for dest in (tmp_path / "a", tmp_path / "b"):
        small_builders.pets_superres(src, dest)
    split = [
        [sorted(p.name for p in (d / sub / "pets").iterdir()) for sub in ("train", "val")]
        for d in (tmp_path / "a", tmp_path / "b")
    ]
    assert split[0] == split[1]
    train, valid = split[0]
    assert len(valid) == 4 and len(train) == 16 and not set(train) & set(valid)
    train_items, valid_items = superres.sr_items(tmp_path / "a")  # lesson 14's reader
    assert [p.name for p in valid_items] == valid and len(train_items) == 16
    with pytest.raises(FileNotFoundError, match="Oxford-IIIT Pets"):
        small_builders.pets_superres(tmp_path / "nothing", tmp_path / "c")
