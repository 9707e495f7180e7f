"""The lesson widgets through a real Jupyter kernel, driven the way JupyterLab drives them: the test sends the
kernel the same comm messages the browser sends when a student clicks a button, picks an option or uploads a
file (``update`` of a widget's state, with the file's bytes as a binary buffer; ``custom`` ``click`` events),
then checks the CSV the cleaner wrote, the image files (untouched), and what the widget showed."""

import csv
import hashlib
import json

import pytest
from PIL import Image

pytestmark = pytest.mark.kernel

SETUP = """
import json
from pathlib import Path
import ipywidgets as w
import torch
from torch import nn
from coursekit.learner import Learner
from coursekit.vision import loaders, widgets

root = Path({root!r})
items, labels, classes = loaders.folder_items(root / "train")
ds = loaders.ImageDataset(items, labels, classes, lambda img: img)
cleaner = widgets.ImageCleaner(ds, [0, 1, 6], losses=[2.5, 1.0, 0.5], csv_path=root / "cleaned.csv")
shown = cleaner.widget()

def find(box, kind):
    return ([box] if isinstance(box, kind) else []) + [x for c in getattr(box, "children", ()) for x in find(c, kind)]

dls = loaders.image_dls_from_folder(root, size=16, bs=4)
model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
with torch.no_grad():  # red -> cats, blue -> dogs
    model[2].weight.copy_(torch.tensor([[5.0, 0, -5], [-5, 0, 5]])); model[2].bias.zero_()
upload_shown = widgets.upload_classifier(Learner(model, dls, nn.CrossEntropyLoss(), device="cpu"))
print(json.dumps({{
    "choices": [x.model_id for x in find(shown.box, w.ToggleButtons)],
    "labels": [x.model_id for x in find(shown.box, w.Dropdown)],
    "save": find(shown.box, w.Button)[0].model_id,
    "upload": find(upload_shown.box, w.FileUpload)[0].model_id,
    "output": find(upload_shown.box, w.Output)[0].model_id,
    "items": [str(p) for p in items]}}))
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """``train/`` and ``valid/`` folders of cats (red) and dogs (blue), 6 + 2 of each: the dogscats layout."""
    root = tmp_path_factory.mktemp("pets")
    for split, n in (("train", 6), ("valid", 2)):
        for name, colour in (("cats", (200, 30, 30)), ("dogs", (30, 30, 200))):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (16, 16), colour).save(root / split / name / f"{name}{i}.jpg")
    return root


@pytest.fixture(scope="module")
def kernel(folder):
    """A python3 kernel (the one JupyterLab starts) with the cleaner and the upload widget built in it."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(folder))
    try:
        out = text(execute(kc, SETUP.format(root=str(folder))))
        yield kc, json.loads(out.strip().splitlines()[-1])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def replies(kc, msg_id, timeout=120, errors_ok=False):
    """The iopub messages caused by the shell message ``msg_id``, up to the kernel going idle; fails on an error
    unless ``errors_ok``."""
    msgs = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        msgs.append(msg)
    errors = [m["content"] for m in msgs if m["msg_type"] == "error"]
    assert errors_ok or not errors, "\n".join("\n".join(e["traceback"]) for e in errors)
    return msgs


def execute(kc, code):
    return replies(kc, kc.execute(code))


def text(msgs):
    return "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")


def front_end(kc, model_id, data, buffers=()):
    """Send what the browser sends to a widget's model (a comm message) and wait until the kernel handled it."""
    msg = kc.session.msg("comm_msg", {"comm_id": model_id, "data": data})
    kc.session.send(kc.shell_channel.socket, msg, buffers=list(buffers))
    return replies(kc, msg["header"]["msg_id"])


def pick(kc, model_id, index):
    """A click on option ``index`` of a ToggleButtons or Dropdown (the browser syncs the index)."""
    return front_end(kc, model_id, {"method": "update", "state": {"index": index}, "buffer_paths": []})


def upload(kc, model_id, name, data):
    """A file chosen in the upload widget: its description, and its bytes as a binary buffer."""
    entry = {"name": name, "type": "", "size": len(data), "last_modified": 1_700_000_000_000}
    return front_end(
        kc,
        model_id,
        {"method": "update", "state": {"value": [entry]}, "buffer_paths": [["value", 0, "content"]]},
        [data],
    )


def fingerprints(folder):
    """Every image file with its size, modification time and content hash."""
    return {
        p: (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*.jpg"))
    }


def test_the_cleaner_buttons_write_the_csv_rows_and_touch_no_image(kernel, folder):
    kc, ids = kernel
    before = fingerprints(folder)
    cats0, cats1, dogs0 = ids["items"][0], ids["items"][1], ids["items"][6]
    pick(kc, ids["choices"][0], 1)  # first card: delete
    pick(kc, ids["labels"][1], 1)  # second card: the label dropdown set to dogs ...
    pick(kc, ids["choices"][1], 2)  # ... and relabel
    pick(kc, ids["choices"][2], 1)  # third card: delete, then back to keep (no row)
    pick(kc, ids["choices"][2], 0)
    saved = front_end(kc, ids["save"], {"method": "custom", "content": {"event": "click"}})
    with open(folder / "cleaned.csv", newline="") as f:
        assert list(csv.reader(f)) == [["file", "action", "label"], [cats0, "delete", ""], [cats1, "relabel", "dogs"]]
    # the kernel told the browser what was saved (a state update of the HTML widget under the button)
    updates = [m["content"]["data"].get("state", {}) for m in saved if m["msg_type"] == "comm_msg"]
    assert any("saved 2 decision(s)" in s.get("value", "") for s in updates), updates
    assert fingerprints(folder) == before  # no image written, moved or deleted
    assert dogs0 not in (folder / "cleaned.csv").read_text()
    out = text(execute(kc, "print(repr(shown))"))
    assert "1 to delete, 1 to relabel" in out and "no image file is changed" in out


def test_the_csv_filters_and_relabels_the_dataset_it_was_written_for(kernel, folder):
    kc, ids = kernel
    before = fingerprints(folder)
    code = """
with open(root / "cleaned.csv", "w") as f:
    f.write(f"file,action,label\\n{items[0]},delete,\\n{items[1]},relabel,dogs\\n")
train_items, train_labels, classes = loaders.folder_items(root / "train")
kept, kept_labels = widgets.apply_cleaning(train_items, train_labels, classes, root / "cleaned.csv")
cleaned = loaders.image_dls_from_items(kept, kept_labels, classes, size=16, bs=4)
print(json.dumps({"kept": kept, "labels": kept_labels, "n": len(cleaned.train_ds) + len(cleaned.valid_ds)}))
"""
    found = json.loads(text(execute(kc, code)).strip().splitlines()[-1])
    items = ids["items"]
    assert items[0] not in found["kept"] and len(found["kept"]) == len(items) - 1 == found["n"]
    assert found["labels"][found["kept"].index(items[1])] == 1  # a cat relabelled as a dog
    assert [found["labels"][found["kept"].index(p)] for p in items[6:]] == [1] * 6  # the others as they were
    assert fingerprints(folder) == before


@pytest.mark.parametrize(
    "row, message",
    [
        ("/elsewhere/cat.jpg,delete,", "names 1 file(s) that are not in this dataset, e.g. /elsewhere/cat.jpg"),
        ("{item},relabel,bird", "cats0.jpg: 'bird' is not a class of this dataset; classes: ['cats', 'dogs']"),
        ("{item},remove,", "line 2: ['{item}', 'remove', ''] should be file,delete, or file,relabel,<label>"),
    ],
)
def test_a_cleaner_csv_with_an_unknown_file_or_label_is_a_clear_error(kernel, folder, row, message):
    kc, ids = kernel
    bad = folder / "bad.csv"
    bad.write_text("file,action,label\n" + row.format(item=ids["items"][0]) + "\n")
    msg_id = kc.execute(f"widgets.apply_cleaning(items, labels, classes, {str(bad)!r})")
    msgs = [m for m in replies(kc, msg_id, errors_ok=True) if m["msg_type"] == "error"]
    assert msgs, "no error raised"
    error = msgs[-1]["content"]
    assert error["ename"] == "ValueError" and message.format(item=ids["items"][0]) in error["evalue"], error["evalue"]
    assert str(bad) in error["evalue"]  # names the file to fix


def shown_in_output_widget(msgs, output_id):
    """What a browser shows in the Output widget: the kernel first points the widget at the message being handled
    (its ``msg_id``), then the prints of that message land in it."""
    pointed = [
        m
        for m in msgs
        if m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == output_id
        and m["content"]["data"].get("state", {}).get("msg_id")
    ]
    assert pointed, "the Output widget was not pointed at the upload's message"
    return text(msgs)


@pytest.mark.parametrize(
    "name, data",
    [
        ("notes.txt", b"my cat is called Felix\n"),
        ("cut.jpg", None),  # a JPEG cut short in transfer: a real header, then nothing
    ],
)
def test_an_upload_that_is_not_an_image_gives_a_clear_message_in_the_widget(kernel, folder, name, data):
    kc, ids = kernel
    if data is None:
        data = (folder / "train" / "cats" / "cats0.jpg").read_bytes()[:200]
    shown = shown_in_output_widget(upload(kc, ids["upload"], name, data), ids["output"])
    assert f"{name} is not an image this course can read ({len(data):,} bytes" in shown, shown
    assert "Upload a JPEG or PNG photo." in shown
    assert f"{name} is not an image" in text(execute(kc, "print(repr(upload_shown))"))


def test_an_uploaded_photo_is_shown_with_its_prediction(kernel, folder):
    kc, ids = kernel
    msgs = upload(kc, ids["upload"], "blue.png", (folder / "valid" / "dogs" / "dogs0.jpg").read_bytes())
    shown = shown_in_output_widget(msgs, ids["output"])
    assert "blue.png: dogs (dogs " in shown, shown
    assert any(m["msg_type"] == "display_data" and "image/png" in m["content"]["data"] for m in msgs)
