"""Labels CSVs for image datasets: reading one (file-name and label columns, spaces removed with a warning), each
file kept once, tags split, and the tags of a test CSV checked against the training classes."""

import warnings

import torch

from coursekit.data import CategoryMap, check_columns, read_csv, row_name, strip_columns


def tags_of(value, label_delim):
    """The tags in one multi-label cell, spaces around each removed."""
    return [t.strip() for t in value.split(label_delim) if t.strip()]


def read_labels_csv(csv_file, fn_col=0, label_col=1):
    """(table, file-name column, label column) of a labels CSV, read by ``data.read_csv``, with the spaces
    around file names and labels removed (and a warning where that changed a value)."""
    df = read_csv(
        csv_file,
        "labels CSV",
        "a header line naming its file-name and label columns, then one row per image",
        dtype=str,
        keep_default_na=False,
    )
    fn_name, label_name = check_columns(df, [fn_col, label_col], csv_file)
    return strip_columns(df, [fn_name, label_name], csv_file), fn_name, label_name


DELIMITERS = {" ": "a space", ",": "a comma", ";": "a semicolon", "|": "a bar"}  # what separates tags


def warn_joined_tags(df, label_name, source):
    """A warning when labels of a single-label CSV look like several tags (``'cat dog'``): each is read as one
    class of its own, which is right only for class names such as ``'golden retriever'``."""
    for delim, what in DELIMITERS.items():
        rows = [i for i, v in enumerate(df[label_name]) if delim in v]
        if rows:
            value = df[label_name].iloc[rows[0]]
            warnings.warn(
                f"{len(rows)} label(s) in column {label_name!r} hold {what}, the first {value!r} on "
                f"{row_name(df, rows[0], source)}. Without label_delim each label is one class, so {value!r} "
                f"is a class of its own, not the tags {' and '.join(map(repr, tags_of(value, delim)))}. If the "
                f"column lists several tags per image, pass label_delim={delim!r}; if these are class names, "
                "ignore this warning.",
                stacklevel=3,
            )
            return


def unique_files(df, fn_name, label_name, source, label_delim=None):
    """Positions of ``df``'s rows keeping each file once: a file listed again with the same label(s) is
    dropped with a warning; with different labels it is an error naming the file, both rows and both labels."""
    labels = [v if label_delim is None else frozenset(tags_of(v, label_delim)) for v in df[label_name]]
    first, again = {}, []
    for i, (name, label) in enumerate(zip(df[fn_name], labels)):
        j = first.setdefault(name, i)
        if j == i:
            continue
        if label != labels[j]:
            raise ValueError(
                f"{source} gives {name!r} two different labels: {df[label_name].iloc[j]!r} on "
                f"{row_name(df, j, source)} and {df[label_name].iloc[i]!r} on {row_name(df, i, source)}. "
                "Keep the row with the right label and delete the other."
            )
        again.append((j, i))
    if again:
        j, i = again[0]
        warnings.warn(
            f"{source} lists {len(again)} file(s) more than once with the same label, the first "
            f"{df[fn_name].iloc[i]!r} on {row_name(df, j, source)} and {row_name(df, i, source)}; "
            "keeping its first row only, so that no image is in both training and validation."
        )
    return sorted(first.values())


def read_tags_csv(csv_file, classes, fn_col=0, label_col=1, label_delim=" "):
    """(file names, multi-hot targets) from a labels CSV (each file once: ``unique_files``), checked against
    the training ``classes``: an unknown tag is an error naming its row, since the model has no output for it."""
    df, fn_name, label_name = read_labels_csv(csv_file, fn_col, label_col)
    classes = CategoryMap(classes, sort=False)  # the training order: output i is class i
    targets = torch.zeros(len(df), len(classes))
    for row, tags in enumerate(df[label_name]):
        tags = tags_of(tags, label_delim)
        unknown = [t for t in tags if t not in classes]
        if unknown:
            raise ValueError(
                f"{row_name(df, row, csv_file)} has the tag {unknown[0]!r}, which the training data "
                f"does not have; known tags: {', '.join(classes)}."
            )
        targets[row, [classes.index[t] for t in tags]] = 1.0
    keep = unique_files(df, fn_name, label_name, csv_file, label_delim)
    return [df[fn_name].iloc[i] for i in keep], targets[keep]
