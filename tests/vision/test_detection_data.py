import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2 as T

from coursekit.vision import detection_data as dd


def write_image(path, w=80, h=60, square=None):
    """A grey image with one red rectangle at ``square`` = [x0, y0, x1, y1] (pixels), if given."""
    arr = np.full((h, w, 3), 100, np.uint8)
    if square:
        x0, y0, x1, y1 = square
        arr[y0:y1, x0:x1] = (255, 0, 0)
    Image.fromarray(arr).save(path)


@pytest.fixture
def coco(tmp_path):
    """Two images in COCO layout; the second without width/height in the JSON (as coco_tiny)."""
    (tmp_path / "img").mkdir()
    write_image(tmp_path / "img" / "a.jpg", 80, 60)
    write_image(tmp_path / "img" / "b.jpg", 50, 40)
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 80, "height": 60}, {"id": 2, "file_name": "b.jpg"}],
        "annotations": [
            {"id": 10, "image_id": 1, "bbox": [5, 5, 20, 10], "category_id": 7},
            {"id": 11, "image_id": 1, "bbox": [30, 20, 40, 30], "category_id": 3},
            {"id": 12, "image_id": 2, "bbox": [1, 1, 10, 10], "category_id": 7},
        ],
        "categories": [{"id": 7, "name": "dog"}, {"id": 3, "name": "cat"}],
    }
    return tmp_path, data


def write_json(tmp_path, data):
    (tmp_path / "ann.json").write_text(json.dumps(data))
    return tmp_path / "ann.json"


def test_read_coco_gives_xyxy_pixel_boxes_and_classes_in_category_id_order(coco):
    path, data = coco
    items, classes = dd.read_coco(write_json(path, data), path / "img")
    assert classes == ["cat", "dog"]
    a, b = items
    assert a.size == (80, 60) and a.boxes.tolist() == [[5, 5, 25, 15], [30, 20, 70, 50]] and a.labels.tolist() == [1, 0]
    assert b.size == (50, 40)  # read from the file: the JSON has no width/height


def test_an_annotation_naming_an_unknown_image_or_category_is_an_error_naming_it(coco):
    path, data = coco
    data["annotations"][1]["image_id"] = 99
    with pytest.raises(ValueError, match=r"annotation 1 \(id 11\) names image_id 99"):
        dd.read_coco(write_json(path, data), path / "img")
    data["annotations"][1]["image_id"] = 1
    data["annotations"][2]["category_id"] = 5
    with pytest.raises(ValueError, match=r"annotation 2 \(id 12\) of image b\.jpg names category_id 5"):
        dd.read_coco(write_json(path, data), path / "img")


def test_coco_boxes_of_zero_size_fail_and_boxes_sticking_out_are_clipped(coco):
    path, data = coco
    data["annotations"][0]["bbox"] = [5, 5, 0, 10]
    with pytest.raises(ValueError, match=r"annotation 0 \(id 10\).*zero or negative width"):
        dd.read_coco(write_json(path, data), path / "img")
    data["annotations"][0]["bbox"] = [70, 5, 30, 10]
    with pytest.warns(UserWarning, match=r"annotation 0 \(id 10\).*clipped"):
        items, _ = dd.read_coco(write_json(path, data), path / "img")
    assert items[0].boxes[0].tolist() == [70, 5, 80, 15]


def test_a_missing_image_file_is_an_error_naming_it(coco):
    path, data = coco
    data["images"][0]["file_name"] = "nope.jpg"
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        dd.read_coco(write_json(path, data), path / "img")


def test_read_voc_reads_objects_and_rejects_unknown_classes(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "xml").mkdir()
    write_image(tmp_path / "img" / "p.jpg", 60, 50)
    obj = "<object><name>{}</name><bndbox><xmin>3</xmin><ymin>4</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>"
    xml = (
        "<annotation><filename>p.jpg</filename><size><width>60</width><height>50</height><depth>3</depth></size>"
        + obj.format("dog")
        + obj.format("cat")
        + "</annotation>"
    )
    (tmp_path / "xml" / "p.xml").write_text(xml)
    items, classes = dd.read_voc(tmp_path / "xml", tmp_path / "img")
    assert classes == ["cat", "dog"] and items[0].labels.tolist() == [1, 0]
    assert items[0].boxes.tolist() == [[3, 4, 30, 40]] * 2 and items[0].size == (60, 50)
    with pytest.raises(ValueError, match="p.xml: object 0 has the class 'dog'"):
        dd.read_voc(tmp_path / "xml", tmp_path / "img", classes=["cat"])


@pytest.mark.parametrize("bbox", [[30, 20, 40], None, [30, 20, "40", 30], [[30, 20, 40, 30]]])
def test_a_coco_bbox_that_is_not_4_numbers_is_an_error_naming_the_annotation_and_image(coco, bbox):
    path, data = coco
    data["annotations"][1]["bbox"] = bbox
    expected = (
        rf"ann\.json: annotation 1 \(id 11\) of image a\.jpg has the bbox {re.escape(json.dumps(bbox))}; a COCO bbox"
    )
    with pytest.raises(ValueError, match=expected + r" is 4 numbers \[x, y, width, height\]"):
        dd.read_coco(write_json(path, data), path / "img")
    del data["annotations"][1]["bbox"]
    with pytest.raises(ValueError, match=r"annotation 1 \(id 11\) of image a\.jpg has no bbox"):
        dd.read_coco(write_json(path, data), path / "img")


def test_a_coco_file_without_annotations_is_an_error_unless_images_without_boxes_are_asked_for(coco):
    path, data = coco
    data["annotations"] = []
    with pytest.raises(ValueError, match=r"ann\.json lists 2 image\(s\) but no annotation.*keep_empty=True"):
        dd.read_coco(write_json(path, data), path / "img")
    items, classes = dd.read_coco(write_json(path, data), path / "img", keep_empty=True)
    assert [len(it.labels) for it in items] == [0, 0] and classes == ["cat", "dog"]
    del data["annotations"]  # as in COCO's test-set files (image_info_test2017.json): images, no boxes
    with pytest.raises(ValueError, match=r"ann\.json has no 'annotations'.*test set.*keep_empty=True"):
        dd.read_coco(write_json(path, data), path / "img")
    assert len(dd.read_coco(write_json(path, data), path / "img", keep_empty=True)[0]) == 2
    data["images"] = []
    with pytest.raises(ValueError, match=r"ann\.json lists no image"):
        dd.read_coco(write_json(path, data), path / "img", keep_empty=True)


def test_coco_entries_without_their_keys_or_with_a_repeated_id_are_errors_naming_them(coco):
    path, data = coco
    cases = [
        ("images", 1, {"id": 2}, r"images\[1\] \(\{\"id\": 2\}\) has no file_name"),
        ("categories", 0, {"id": 7}, r"categories\[0\] \(\{\"id\": 7\}\) has no name"),
        ("annotations", 2, [1, 1, 10, 10], r"annotations\[2\] is \[1, 1, 10, 10\], not an object"),
        ("images", 1, {"id": 1, "file_name": "b.jpg"}, r"images\[0\] and images\[1\] have the same id 1"),
        ("categories", 1, {"id": 7, "name": "cat"}, r"categories\[0\] and categories\[1\] have the same id 7"),
    ]
    for key, n, entry, message in cases:
        broken = json.loads(json.dumps(data))
        broken[key][n] = entry
        with pytest.raises(ValueError, match=r"ann\.json: " + message):
            dd.read_coco(write_json(path, broken), path / "img")


def test_a_coco_image_size_that_is_not_a_number_is_an_error_and_0_is_read_from_the_file(coco):
    path, data = coco
    data["images"][0]["width"] = "wide"
    with pytest.raises(ValueError, match=r"ann\.json: image id 1 \(a\.jpg\): the size 'wide' x 60 is not a number"):
        dd.read_coco(write_json(path, data), path / "img")
    data["images"][0]["width"] = data["images"][0]["height"] = 0  # as some tools write when they do not know
    items, _ = dd.read_coco(write_json(path, data), path / "img")
    assert items[0].size == (80, 60)


def test_a_coco_file_that_is_not_utf8_is_an_error_naming_it(coco):
    path, data = coco
    write_json(path, data).write_bytes(b'{"images": "\xff"}')
    with pytest.raises(ValueError, match=r"ann\.json is not UTF-8 text"):
        dd.read_coco(path / "ann.json", path / "img")


def write_voc(tmp_path, xml):
    """One VOC annotation file ``p.xml`` holding ``xml`` and its 60x50 image ``p.jpg``; (xml folder, image folder)."""
    for d in ("img", "xml"):
        (tmp_path / d).mkdir(exist_ok=True)
    write_image(tmp_path / "img" / "p.jpg", 60, 50)
    (tmp_path / "xml" / "p.xml").write_text(xml)
    return tmp_path / "xml", tmp_path / "img"


VOC_HEAD = "<annotation><filename>p.jpg</filename><size><width>60</width><height>50</height></size>"
VOC_DOG = "<object><name>dog</name><bndbox><xmin>3</xmin><ymin>4</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>"


def test_a_voc_object_without_bndbox_is_an_error_naming_the_file_and_object(tmp_path):
    xml = VOC_HEAD + VOC_DOG + "<object><name>cat</name><pose>Left</pose></object></annotation>"
    with pytest.raises(ValueError, match=r"p\.xml: object 1 \(cat\) has no <bndbox>.*Add it or delete the object"):
        dd.read_voc(*write_voc(tmp_path, xml))


def test_a_voc_coordinate_missing_or_not_a_number_is_an_error_naming_the_file_and_object(tmp_path):
    bad = VOC_HEAD + VOC_DOG.replace("<xmax>30</xmax>", "<xmax>abc</xmax>") + "</annotation>"
    with pytest.raises(ValueError, match=r"p\.xml: object 0 \(dog\) has <xmax>abc</xmax>, which is not a number"):
        dd.read_voc(*write_voc(tmp_path, bad))
    missing = VOC_HEAD + VOC_DOG.replace("<ymin>4</ymin>", "") + "</annotation>"
    with pytest.raises(ValueError, match=r"p\.xml: object 0 \(dog\) has no <ymin> in its <bndbox>"):
        dd.read_voc(*write_voc(tmp_path, missing))


def test_a_truncated_voc_file_is_an_error_naming_the_file_line_and_column(tmp_path):
    whole = VOC_HEAD + "\n" + VOC_DOG + "\n</annotation>"
    cut = whole[: whole.index("<xmax>") + 4]  # as an interrupted copy leaves it: line 2 ends in "<xma"
    assert VOC_DOG.index("<xmax>") == 60  # the unclosed tag starts at the 61st character of line 2
    with pytest.raises(ValueError, match=r"p\.xml, line 2, column 61: not well-formed XML.*download it again"):
        dd.read_voc(*write_voc(tmp_path, cut))


def test_largest_object_is_the_one_with_the_biggest_box(coco):
    path, data = coco
    items, classes = dd.read_coco(write_json(path, data), path / "img")
    box, label = dd.largest_object(items[0])
    assert box.tolist() == [30, 20, 70, 50] and classes[label] == "cat"
    assert [len(it.labels) for it in dd.largest_only(items)] == [1, 1]


@pytest.mark.parametrize(
    "name, tfm",
    [
        ("flip", T.RandomHorizontalFlip(p=1.0)),
        ("crop", T.RandomCrop((70, 90))),
        ("zoom", T.RandomAffine(degrees=0, scale=(1.3, 1.3))),
        ("rotation", T.RandomRotation((15, 15))),
        ("the training preset", dd.detection_tfms(64, augment=True, max_rotate=10, max_zoom=1.2)),
    ],
)
def test_an_augmented_box_still_encloses_its_object(name, tfm):
    """A red rectangle whose pixels are known: after the transform, every strongly red pixel lies inside
    the transformed box (with a pixel of slack for interpolation), and the box is not much bigger."""
    square = [40, 30, 70, 55]
    arr = np.full((80, 100, 3), 100, np.uint8)
    arr[30:55, 40:70] = (255, 0, 0)
    img = Image.fromarray(arr)
    steps = tfm if name == "the training preset" else T.Compose([tfm, T.ToDtype(torch.float32, scale=True)])
    for seed in range(5):
        torch.manual_seed(seed)
        x, bx, _ = dd.transform(steps, img, torch.tensor([square], dtype=torch.float32), [0])
        h, w = x.shape[-2:]
        red = (x[0] > 0.8) & (x[1] < 0.3) & (x[2] < 0.3)
        ys, xs = torch.nonzero(red, as_tuple=True)
        assert len(xs) > 20, name
        x0, y0, x1, y1 = (bx[0] * torch.tensor([w, h, w, h])).tolist()
        assert x0 - 1 <= xs.min() and xs.max() + 1 <= x1 + 1 and y0 - 1 <= ys.min() and ys.max() + 1 <= y1 + 1, name
        area_red, area_box = len(xs), (x1 - x0) * (y1 - y0)
        assert area_box <= 2.5 * area_red, name  # encloses, but is not a loose box round everything


def test_dataset_items_and_padded_batches(coco):
    path, data = coco
    items, classes = dd.read_coco(write_json(path, data), path / "img")
    dls = dd.detection_dls(items, classes, valid_items=items[:1], size=32, bs=2, augment=False)
    x, bx, lab = dls.train_ds[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and bx.shape == (2, 4) and lab.tolist() == [1, 0]
    assert torch.allclose(bx[0], torch.tensor([5 / 80, 5 / 60, 25 / 80, 15 / 60]), atol=1e-5)
    xb, boxes, labels = next(iter(dls.valid))
    assert xb.shape == (1, 3, 32, 32) and boxes.shape == (1, 2, 4) and labels.shape == (1, 2)
    batch = dd.collate_boxes([dls.train_ds[1], dls.train_ds[0]], pad_to=3)
    assert batch[1].shape == (2, 3, 4) and batch[2].tolist() == [[1, -1, -1], [1, 0, -1]]
    assert dls.train.n_inp == 1


def test_largest_object_targets(coco):
    path, data = coco
    items, classes = dd.read_coco(write_json(path, data), path / "img")
    ds = dd.DetectionDataset(items, classes, dd.detection_tfms(32, augment=False), target="both")
    x, box, label = ds[0]
    assert box.shape == (4,) and int(label) == 0
    assert len(dd.DetectionDataset(items, classes, ds.tfms, target="box")[0]) == 2
    assert ds.encode(Image.new("RGB", (40, 30))).shape == (3, 32, 32)
    with pytest.raises(ValueError, match="target must be"):
        dd.DetectionDataset(items, classes, ds.tfms, target="boxes")


def test_a_voc_file_without_filename_or_object_name_or_with_a_bad_size_is_an_error_naming_it(tmp_path):
    no_file = VOC_HEAD.replace("<filename>p.jpg</filename>", "") + VOC_DOG + "</annotation>"
    with pytest.raises(ValueError, match=r"p\.xml has no <filename> naming its image"):
        dd.read_voc(*write_voc(tmp_path, no_file))
    no_name = VOC_HEAD + VOC_DOG.replace("<name>dog</name>", "") + "</annotation>"
    with pytest.raises(ValueError, match=r"p\.xml: object 0 has no <name>"):
        dd.read_voc(*write_voc(tmp_path, no_name))
    bad_size = VOC_HEAD.replace("<width>60", "<width>abc") + VOC_DOG + "</annotation>"
    with pytest.raises(ValueError, match=r"p\.xml: <size>: the size 'abc' x '50' is not a number of pixels"):
        dd.read_voc(*write_voc(tmp_path, bad_size))
    zero_size = VOC_HEAD.replace("<width>60", "<width>0").replace("<height>50", "<height>0") + VOC_DOG + "</annotation>"
    items, _ = dd.read_voc(*write_voc(tmp_path, zero_size))
    assert items[0].size == (60, 50)  # read from p.jpg
