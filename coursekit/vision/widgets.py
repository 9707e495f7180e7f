"""Widgets for the image lessons: classify your own photo, and clean a dataset by looking at its top losses.

Both are ipywidgets. In JupyterLab they are interactive. Under nbval or in a terminal (no front end) they show
as a one-line text summary and never wait for input. Each has a plain function behind it that a notebook (and
nbval) can call without a front end: ``classify(learn, photo)`` and ``ImageCleaner.decide``/``save``.

The cleaner never deletes, moves or rewrites an image. It writes a CSV of decisions (``file,action,label``,
where ``action`` is ``delete`` or ``relabel``), and ``apply_cleaning`` reads that CSV when the items and labels
of a dataset are built. It leaves out the files marked ``delete`` and gives the new label to those marked
``relabel``.
"""

import csv
import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

ACTIONS = ("keep", "delete", "relabel")
HEADER = ["file", "action", "label"]


def open_upload(data, name="the upload"):
    """An RGB image from uploaded bytes, or a ValueError that says what was uploaded and what to do."""
    try:
        img = Image.open(io.BytesIO(bytes(data)))
        img.load()
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ValueError(
            f"{name} is not an image this course can read ({len(bytes(data)):,} bytes; {e}). "
            "Upload a JPEG or PNG photo."
        ) from None
    return img.convert("RGB")


def classify(learn, photo):
    """``(label, {class: probability})`` for one photo: a path, a PIL image or uploaded bytes."""
    img = open_upload(photo) if isinstance(photo, (bytes, bytearray, memoryview)) else photo
    label, _, probs = learn.predict(img)
    return label, dict(zip(learn.dls.classes, probs.tolist()))


def describe(label, probs):
    return f"{label} (" + ", ".join(f"{c} {p:.1%}" for c, p in sorted(probs.items(), key=lambda kv: -kv[1])) + ")"


class Summarised:
    """A widget box whose text form (terminals, nbval's text comparison) is a one-line summary."""

    def __init__(self, box, summary):
        self.box, self.summary = box, summary

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.box._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self.summary()
        return bundle

    def __repr__(self):
        return self.summary()


def upload_classifier(learn):
    """An upload button; each photo uploaded is shown with the model's prediction and its probabilities."""
    import ipywidgets as w

    upload = w.FileUpload(accept="image/*", multiple=False, description="Your photo")
    out, state = w.Output(), {"last": "no photo uploaded yet"}

    def on_upload(change):
        out.clear_output()
        for file in change["new"]:
            with out:
                try:
                    img = open_upload(file["content"], file["name"])
                except ValueError as e:
                    state["last"] = str(e)
                    print(e)
                    continue
                label, probs = classify(learn, img)
                state["last"] = f"{file['name']}: {describe(label, probs)}"
                from IPython.display import display

                display(img.resize((192, round(192 * img.height / img.width))))
                print(state["last"])

    upload.observe(on_upload, names="value")
    box = w.VBox([w.HTML("<b>Classify your own photo</b>"), upload, out])
    return Summarised(
        box,
        lambda: (
            f"Upload a photo to classify with {type(learn.model).__name__} "
            f"({len(learn.dls.classes)} classes): {state['last']}"
        ),
    )


class ImageCleaner:
    """The ``idxs`` items of an image dataset with their labels and losses; keep, delete or relabel each, then
    ``save()`` the decisions to ``csv_path``. Works for single-label (a class) and multi-label (tags) datasets."""

    def __init__(self, dataset, idxs, losses=None, csv_path="cleaned.csv"):
        self.ds, self.idxs, self.csv_path = dataset, list(idxs), Path(csv_path)
        self.losses = [None] * len(self.idxs) if losses is None else [float(v) for v in losses]
        self.decisions = {}  # file -> (action, label)

    def label_of(self, i):
        return self.ds.label_names(i)

    def decide(self, i, action, label=None):
        """Record the decision for dataset item ``i``: ``keep``, ``delete``, or ``relabel`` to ``label``."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, not {action!r}.")
        if action == "relabel":
            check_label(label, self.ds.classes, getattr(self.ds, "multi_label", False), f"item {i}")
        file = str(self.ds.items[i])
        if action == "keep":
            self.decisions.pop(file, None)
        else:
            self.decisions[file] = (action, label if action == "relabel" else "")

    def save(self):
        """Write the decisions (added to those already in the file: a later decision for a file wins)."""
        rows = read_decisions(self.csv_path) if self.csv_path.is_file() else {}
        rows.update(self.decisions)
        tmp = self.csv_path.with_name(self.csv_path.name + ".tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(HEADER)
            writer.writerows([file, action, label] for file, (action, label) in rows.items())
        tmp.replace(self.csv_path)
        return self.csv_path

    def widget(self):
        """The items as a grid: picture, label, loss, keep / delete / relabel buttons, and a Save button."""
        import ipywidgets as w

        cards = []
        for i, loss in zip(self.idxs, self.losses):
            path = Path(self.ds.items[i])
            picture = w.Image(value=path.read_bytes(), width=128) if path.is_file() else w.HTML(f"missing: {path}")
            choice = w.ToggleButtons(options=ACTIONS, value="keep", style={"button_width": "60px"})
            multi = getattr(self.ds, "multi_label", False)
            new_label = w.Text(placeholder="tags, space-separated") if multi else w.Dropdown(options=self.ds.classes)
            note = w.HTML()

            def update(_, i=i, choice=choice, new_label=new_label, note=note):
                try:
                    self.decide(i, choice.value, new_label.value if choice.value == "relabel" else None)
                    note.value = ""
                except ValueError as e:
                    note.value = f"<span style='color:#b00'>{e}</span>"

            choice.observe(update, names="value")
            new_label.observe(update, names="value")
            caption = f"{path.name}<br>{self.label_of(i)}" + ("" if loss is None else f" / loss {loss:.2f}")
            cards.append(w.VBox([picture, w.HTML(caption), choice, new_label, note]))
        save, saved = w.Button(description="Save decisions", button_style="primary"), w.HTML()

        def on_save(_):
            saved.value = f"saved {len(self.decisions)} decision(s) to {self.save()}"

        save.on_click(on_save)
        box = w.VBox([w.GridBox(cards, layout=w.Layout(grid_template_columns="repeat(4, 160px)")), save, saved])
        return Summarised(box, lambda: repr(self))

    def __repr__(self):
        counts = {a: sum(1 for d, _ in self.decisions.values() if d == a) for a in ACTIONS[1:]}
        return (
            f"ImageCleaner({len(self.idxs)} images; {counts['delete']} to delete, {counts['relabel']} to "
            f"relabel; decisions go to {self.csv_path}; no image file is changed)"
        )


def check_label(label, classes, multi_label, where):
    tags = str(label or "").split() if multi_label else [label]
    unknown = [t for t in tags if t not in classes]
    if not tags or unknown:
        what = ", ".join(map(repr, unknown)) if unknown else repr(label)
        raise ValueError(f"{where}: {what} is not a class of this dataset; classes: {list(classes)}.")


def read_decisions(csv_path):
    """``{file: (action, label)}`` from a cleaner CSV, or an error naming the file and row."""
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != HEADER:
        raise ValueError(f"{csv_path} is not an image cleaner's CSV: its first line should be {','.join(HEADER)}.")
    out = {}
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != 3 or row[1] not in ACTIONS[1:]:
            raise ValueError(f"{csv_path}, line {n}: {row} should be file,delete, or file,relabel,<label>.")
        out[row[0]] = (row[1], row[2])
    return out


def apply_cleaning(items, labels, classes, csv_path, multi_label=False):
    """``(items, labels)`` without the files marked ``delete`` and with the new labels of those marked
    ``relabel``: a class index, or a list of tag indices for multi-label (as the builders take them). Unknown
    files or labels are errors."""
    decisions, items = read_decisions(csv_path), [str(i) for i in items]
    unknown = sorted(set(decisions) - set(items))
    if unknown:
        raise ValueError(
            f"{csv_path} names {len(unknown)} file(s) that are not in this dataset, e.g. {unknown[0]}: "
            "was it written for other data, or were files moved? Remove those lines."
        )
    kept_items, kept_labels = [], []
    for item, label in zip(items, labels):
        action, new = decisions.get(item, ("keep", None))
        if action == "delete":
            continue
        if action == "relabel":
            check_label(new, classes, multi_label, f"{csv_path}, {Path(item).name}")
            label = [list(classes).index(t) for t in new.split()] if multi_label else list(classes).index(new)
        kept_items.append(item)
        kept_labels.append(label)
    return kept_items, kept_labels
