"""The lesson widgets: the upload classifier and the image cleaner, driven as a student would (values set and
buttons clicked on the widget objects, which is what the front end does through the kernel)."""

import csv
import datetime

import pytest
import torch
from PIL import Image
from torch import nn

from coursekit.learner import Learner
from coursekit.vision import loaders, widgets


@pytest.fixture
def images(tmp_path):
    """Twelve small images, red ones labelled 'cat' (0) and blue ones 'dog' (1)."""
    items, labels = [], []
    for i in range(12):
        path = tmp_path / f"img{i:02d}.png"
        Image.new("RGB", (16, 16), (200, 30, 30) if i % 2 == 0 else (30, 30, 200)).save(path)
        items.append(path)
        labels.append(i % 2)
    return items, labels


def dataset(images, multi_label=False):
    items, labels = images
    if multi_label:
        labels = [[0] if y == 0 else [1, 0] for y in labels]
    return loaders.ImageDataset(items, labels, ["cat", "dog"], lambda img: img, multi_label=multi_label)


def find(box, kind):
    """Every widget of ``kind`` inside a box, depth first."""
    found = [box] if isinstance(box, kind) else []
    for child in getattr(box, "children", ()):
        found += find(child, kind)
    return found


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_the_cleaner_buttons_write_the_decisions_and_touch_no_image(images, tmp_path):
    import ipywidgets as w

    before = {p: p.read_bytes() for p in images[0]}
    cleaner = widgets.ImageCleaner(dataset(images), [0, 1, 2], losses=[2.5, 1.0, 0.5], csv_path=tmp_path / "c.csv")
    shown = cleaner.widget()
    choices, labels = find(shown.box, w.ToggleButtons), find(shown.box, w.Dropdown)
    choices[0].value = "delete"  # clicks on the first card's "delete"
    labels[1].value = "cat"
    choices[1].value = "relabel"  # the second card relabelled to cat
    choices[2].value = "delete"
    choices[2].value = "keep"  # changed their mind: no row
    find(shown.box, w.Button)[0].click()  # "Save decisions"
    assert rows(tmp_path / "c.csv") == [
        ["file", "action", "label"],
        [str(images[0][0]), "delete", ""],
        [str(images[0][1]), "relabel", "cat"],
    ]
    assert {p: p.read_bytes() for p in images[0]} == before and all(p.exists() for p in images[0])
    assert "1 to delete, 1 to relabel" in repr(shown)


def test_the_csv_filters_and_relabels_a_dataset(images, tmp_path):
    cleaner = widgets.ImageCleaner(dataset(images), range(12), csv_path=tmp_path / "c.csv")
    cleaner.decide(0, "delete")
    cleaner.decide(3, "relabel", "cat")
    cleaner.save()
    items, labels = widgets.apply_cleaning(*images, ["cat", "dog"], tmp_path / "c.csv")
    assert str(images[0][0]) not in items and len(items) == 11
    assert labels[items.index(str(images[0][3]))] == 0  # was dog (1)
    dls = loaders.image_dls_from_items(items, labels, ["cat", "dog"], size=16, bs=4)  # the builders take them
    assert len(dls.train_ds) + len(dls.valid_ds) == 11


def test_a_multi_label_dataset_is_relabelled_with_tags(images, tmp_path):
    ds = dataset(images, multi_label=True)
    cleaner = widgets.ImageCleaner(ds, [1], csv_path=tmp_path / "c.csv")
    cleaner.decide(1, "relabel", "dog")
    cleaner.save()
    tags = [[0] if y == 0 else [1, 0] for y in images[1]]
    items, labels = widgets.apply_cleaning(images[0], tags, ["cat", "dog"], tmp_path / "c.csv", multi_label=True)
    assert labels[1] == [1]
    with pytest.raises(ValueError, match="'bird'.* is not a class"):
        cleaner.decide(1, "relabel", "dog bird")


def test_a_cleaner_csv_with_an_unknown_file_or_label_is_a_clear_error(images, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("file,action,label\n/elsewhere/x.png,delete,\n")
    with pytest.raises(ValueError, match="1 file.*not in this dataset, e.g. /elsewhere/x.png"):
        widgets.apply_cleaning(*images, ["cat", "dog"], bad)
    bad.write_text(f"file,action,label\n{images[0][0]},relabel,bird\n")
    with pytest.raises(ValueError, match="img00.png: 'bird' is not a class"):
        widgets.apply_cleaning(*images, ["cat", "dog"], bad)
    bad.write_text("name,what\n")
    with pytest.raises(ValueError, match="not an image cleaner's CSV"):
        widgets.apply_cleaning(*images, ["cat", "dog"], bad)


def classifier(images):
    items, labels = images
    dls = loaders.image_dls_from_items(items, labels, ["cat", "dog"], size=16, bs=4)
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    with torch.no_grad():  # red -> cat, blue -> dog
        model[2].weight.copy_(torch.tensor([[5.0, 0, -5], [-5, 0, 5]]))
        model[2].bias.zero_()
    return Learner(model, dls, nn.CrossEntropyLoss(), device="cpu")


def test_classify_names_the_class_of_a_path_and_of_uploaded_bytes(images):
    learn = classifier(images)
    label, probs = widgets.classify(learn, images[0][0])
    assert label == "cat" and probs["cat"] > 0.9 and sum(probs.values()) == pytest.approx(1)
    assert widgets.classify(learn, images[0][1].read_bytes())[0] == "dog"


def upload_entry(name, data):
    """One file as the upload widget holds it after the browser sent it."""
    return {
        "name": name,
        "type": "",
        "size": len(data),
        "content": memoryview(data),
        "last_modified": datetime.datetime.now(datetime.timezone.utc),
    }


def test_an_upload_that_is_not_an_image_gives_a_clear_message_in_the_widget(images):
    learn = classifier(images)
    shown = widgets.upload_classifier(learn)
    assert "no photo uploaded yet" in repr(shown)
    upload = shown.box.children[1]
    upload.value = (upload_entry("notes.txt", b"hello"),)
    assert "notes.txt is not an image" in repr(shown) and "Upload a JPEG or PNG" in repr(shown)
    upload.value = (upload_entry("red.png", images[0][0].read_bytes()),)
    assert "red.png: cat (cat" in repr(shown)
