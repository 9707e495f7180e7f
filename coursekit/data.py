"""The data side of the Learner's contract, and the helpers every domain's loaders share.

What the Learner expects, so that one Learner trains, validates, predicts and runs TTA in every domain:

- **dataset**: ``ds[i]`` is ``(*inputs, target)``. Optional: ``classes`` (the names of a classifier's
  outputs; a regression dataset has none); ``encode(item)``, one raw item (an image path, a table row,
  a (user, movie) pair) as the model's input, one tensor or a tuple of tensors without the batch
  dimension (``learn.predict`` uses it); ``tta_kind``, ``"augment"`` (TTA averages over views made by the
  training transforms) or ``"flip"`` (per-pixel outputs: the prediction is flipped back).
- **loaders**: ``DataLoaders(train, valid, test=None)``, made by ``make_loaders``; a batch is
  ``(*inputs, target)``, and a loader's optional ``n_inp`` says how many parts are inputs (default: all
  but the last).
- **model**: ``forward(*inputs)``; optional ``layer_groups()``, its parts from body to head, for
  ``freeze``/``unfreeze`` and differential learning rates.
- **entry point**: each domain has one, ``<thing>_dls(path_or_table, ..., bs, valid_pct, seed=42)``,
  returning ``DataLoaders``.

Shared here: ``split_batch`` (a batch's inputs and targets); seeded splits; ``read_csv``, one checked way to read
a CSV file (what it does with an empty, header-only, UTF-16 or non-UTF-8 file is in its docstring);
``check_columns``, ``row_name`` and ``strip_columns``, so every table error names a column and a row the same way;
``CategoryMap``, the one value <-> index map (class names, category codes, user and movie ids); ``TableDataset``,
rows of tensors that can ``encode`` one raw row.
"""

import random
import warnings

import torch
from torch.utils.data import DataLoader, TensorDataset

from coursekit.core import check_path


class DataLoaders:
    """A training and a validation ``DataLoader`` (and an optional test one) that belong together."""

    def __init__(self, train, valid, test=None):
        self.train, self.valid, self.test = train, valid, test

    @property
    def train_ds(self):
        return self.train.dataset

    @property
    def valid_ds(self):
        return self.valid.dataset

    @property
    def classes(self):
        """The class names of the training set, when it has them."""
        return getattr(self.train_ds, "classes", None)

    @property
    def c(self):
        """How many outputs the model needs: the number of classes, when known."""
        return len(self.classes) if self.classes is not None else None

    @property
    def bs(self):
        return self.train.batch_size

    def __repr__(self):
        parts = [f"train: {len(self.train_ds)} items", f"valid: {len(self.valid_ds)} items"]
        if self.test is not None:
            parts.append(f"test: {len(self.test.dataset)} items")
        if self.classes is not None:
            shown = ", ".join(map(str, self.classes[:10])) + (", ..." if len(self.classes) > 10 else "")
            parts.append(f"classes ({len(self.classes)}): {shown}")
        return f"DataLoaders(bs={self.bs}; " + "; ".join(parts) + ")"


def split_batch(batch, dl):
    """``(inputs, targets)`` of a batch as tuples: the loader's ``n_inp`` parts are inputs (default: all but one)."""
    n_inp = getattr(dl, "n_inp", None)
    n = len(batch) - 1 if n_inp is None else n_inp
    return tuple(batch[:n]), tuple(batch[n:])


def make_loaders(train_ds, valid_ds, bs=64, test_ds=None, num_workers=0, seed=None, collate_fn=None):
    """Build ``DataLoaders`` from datasets: the training loader shuffles (seeded), the others do not.
    An empty training or validation set is an error here, not NaN metrics and a crash later."""
    sizes = f"(training: {len(train_ds)} items, validation: {len(valid_ds)})"
    if len(train_ds) == 0:
        raise ValueError(
            f"The training set is empty {sizes}: there is nothing to learn from. Check the "
            "training folder, list or table, and valid_pct (0.2 is usual)."
        )
    if len(valid_ds) == 0:
        raise ValueError(
            f"The validation set is empty {sizes}: every metric would be NaN. Give it items: a "
            "valid_pct above 0 (0.2 is usual), or a validation folder, list or table that is not empty."
        )
    gen = torch.Generator()
    gen.manual_seed(torch.initial_seed() if seed is None else seed)
    common = dict(
        num_workers=num_workers,
        collate_fn=collate_fn,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
    )
    train = DataLoader(train_ds, bs, shuffle=True, drop_last=len(train_ds) > bs, generator=gen, **common)
    valid = DataLoader(valid_ds, bs * 2, shuffle=False, **common)
    test = DataLoader(test_ds, bs * 2, shuffle=False, **common) if test_ds is not None else None
    return DataLoaders(train, valid, test)


def random_split_indices(n, valid_pct=0.2, seed=42):
    """(train, valid) index lists, a seeded random ``valid_pct`` of ``n`` in valid."""
    idxs = list(range(n))
    random.Random(seed).shuffle(idxs)
    cut = int(round(n * valid_pct))
    return sorted(idxs[cut:]), sorted(idxs[:cut])


# -- tables: one column check and one way to name a row, for every error about a CSV or DataFrame ------
def read_csv(path, what="CSV file", expect="a header line naming the columns, then one row per line", **kwargs):
    """``pandas.read_csv`` with an error naming the file when it is missing or a folder, empty (0 bytes or
    blank lines), only a header, not UTF-8 text, or not CSV; ``expect`` says what it should hold.

    A UTF-16 file with its byte-order mark (what Windows PowerShell's ``>`` and Excel's "Unicode Text"
    write) is read as UTF-16; UTF-16 without the mark is an error saying to save the file as UTF-8."""
    import pandas as pd

    path = check_path(path, what, kind="file")
    with open(path, "rb") as f:
        head = f.read(4096)
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")  # the mark tells the byte order: reading it is safe
    if not utf16 and b"\x00" in head:
        raise ValueError(
            f"The {what} {path} is not UTF-8 text: it has zero bytes, as UTF-16 without a byte-order "
            "mark (or a binary file) has. Save it as UTF-8 (in Excel: Save As, 'CSV UTF-8')."
        )
    kwargs.setdefault("encoding", "utf-16" if utf16 else "utf-8")
    try:
        df = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        size = path.stat().st_size
        raise ValueError(
            f"The {what} {path} is empty ({size} bytes{' of blank lines' if size else ''}): it needs {expect}."
        ) from None
    except UnicodeDecodeError as e:
        raise ValueError(
            f"The {what} {path} is not UTF-8 text (byte {e.object[e.start]:#04x}: {e.reason}; "
            "Windows-1252 and Latin-1 files have such bytes). Save it as UTF-8 (in Excel: Save As, "
            "'CSV UTF-8')."
        ) from None
    except pd.errors.ParserError as e:
        raise ValueError(
            f"The {what} {path} cannot be read as CSV ({e}). Check that line: each needs as many "
            "commas as the header, and a value with a comma in it needs quotes."
        ) from None
    if len(df) == 0:
        raise ValueError(
            f"The {what} {path} has a header ({', '.join(map(str, df.columns))}) but no rows: it needs {expect}."
        )
    return df


def check_columns(df, cols, source="the table"):
    """The names of ``cols`` (column names, or integer positions) in ``df``; a ``KeyError`` naming
    ``source`` (a file or a description), the missing columns and the columns ``df`` has otherwise."""
    names, missing = [], []
    for c in cols:
        if isinstance(c, int) and not isinstance(c, bool) and -len(df.columns) <= c < len(df.columns):
            c = df.columns[c]
        (names if c in df.columns else missing).append(c)
    if missing:
        what = f"column {missing[0]!r}" if len(missing) == 1 else f"columns {', '.join(map(repr, missing))}"
        raise KeyError(f"{source} has no {what}; its columns are {list(df.columns)}.")
    return names


def row_name(df, i, source="the table"):
    """How every error names row ``i`` (a position) of ``df``: by its index label (``df.loc[label]``),
    plus the line of the file when ``df`` was read from the CSV file ``source`` with the default index:
    ``'train.csv line 7 (row 5; the header is line 1)'``, else ``'row 5 of the training table'``."""
    import pandas as pd

    label = df.index[i]
    label = label.item() if hasattr(label, "item") else label  # numpy int64 -> int, for a plain message
    from_file = not isinstance(source, str)  # a Path: the table was read from that file
    default_index = isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
    if from_file and default_index:
        return f"{source} line {label + 2} (row {label}; the header is line 1)"
    return f"row {label!r} of {source}"


def strip_columns(df, cols, source="the table"):
    """A copy of ``df`` with the spaces around the text in ``cols`` removed (``'cat '`` and ``'cat'`` would be
    two classes, ``' a.jpg'`` a missing file), and a warning naming each column where that changed a value."""
    df = df.copy()
    for c in cols:
        values = df[c]
        df[c] = values.map(lambda v: v.strip() if isinstance(v, str) else v)
        changed = [i for i, (a, b) in enumerate(zip(values, df[c])) if isinstance(a, str) and a != b]
        if changed:
            i = changed[0]
            warnings.warn(
                f"Removed the spaces around {len(changed)} value(s) in column {c!r} of {source}, the "
                f"first on {row_name(df, i, source)}: {values.iloc[i]!r} -> {df[c].iloc[i]!r}. Remove "
                "them from the file to silence this warning."
            )
    return df


class CategoryMap:
    """Values <-> contiguous indices, fitted once (on training data) and then applied unchanged.

    With ``unknown=True`` index 0 stands for every value not seen when fitting (and the values start at 1):
    what embeddings of categories and ids need. Without, the values are 0..n-1 and an unseen value is an
    error: what class names need. ``encode`` maps values to indices; ``cmap[i]`` and ``cmap.items`` map
    back; ``value in cmap`` asks whether a value was seen; ``cmap.index`` is the value -> index dict.
    """

    UNKNOWN = "#unknown#"

    def __init__(self, values, unknown=False, sort=True):
        seen = list(dict.fromkeys(values))  # unique, in first-seen order
        values = sorted(seen) if sort else seen
        self.unknown = unknown
        self.items = ([self.UNKNOWN] if unknown else []) + values
        self.index = {v: i for i, v in enumerate(values, start=int(unknown))}

    def encode(self, values):
        """A LongTensor of the indices of ``values`` (any iterable)."""
        if self.unknown:
            return torch.tensor([self.index.get(v, 0) for v in values], dtype=torch.long)
        try:
            return torch.tensor([self.index[v] for v in values], dtype=torch.long)
        except KeyError as e:
            raise KeyError(f"{e.args[0]!r} is not one of the {len(self)} known values: {self.shown()}.") from None

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def __iter__(self):
        return iter(self.items)

    def __contains__(self, value):
        return value in self.index

    def shown(self, n=8):
        """The first ``n`` values, for messages."""
        values = self.items[int(self.unknown) :]
        return ", ".join(map(str, values[:n])) + (", ..." if len(values) > n else "")

    def __repr__(self):
        extra = f" and {self.UNKNOWN} at 0" if self.unknown else ""
        return f"CategoryMap({len(self) - int(self.unknown)} values{extra}: {self.shown()})"


class TableDataset(TensorDataset):
    """Rows of a table as tensors, ``ds[i] = (*inputs, target)``, that can ``encode`` one raw row.

    ``encode`` is the function that turns one raw row into its input tensors, as the loaders did for every
    row: for a table, the fitted processor; for ratings, the user and movie ``CategoryMap``s.
    """

    def __init__(self, *tensors, encode):
        super().__init__(*tensors)
        self.encode_row = encode

    def encode(self, item):
        """One raw row as the model's input: a tuple of tensors without the batch dimension."""
        return tuple(self.encode_row(item))

    def __repr__(self):
        shapes = ", ".join(str(tuple(t.shape[1:])) for t in self.tensors)
        return f"{type(self).__name__}({len(self)} rows; each {shapes})"
