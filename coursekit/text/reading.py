"""Reading text corpora: the aclImdb folders, a texts CSV, and real English text that ships with Python.

``read_imdb_folder`` reads the Large Movie Review Dataset's layout (``train/{neg,pos,unsup}``,
``test/{neg,pos}``, one UTF-8 ``<id>_<rating>.txt`` per review), the real archive and coursekit's sample
alike. A file that is not UTF-8 is an error naming the file and the byte; an empty review (nothing but
whitespace) is skipped with a warning naming it, since one stray empty file should not stop a lesson; a
missing class folder is an error naming it and listing what the split folder holds.
"""

import re
import warnings

from coursekit.core import check_path
from coursekit.data import check_columns, read_csv

IMDB_CLASSES = ("neg", "pos")
ID_RE = re.compile(r"(\d+)_(\d+)\.txt$")


def review_order(path):
    """Sort key: ``<id>_<rating>.txt`` by id as a number (2 before 10), other names after, by name."""
    m = ID_RE.match(path.name)
    return (0, int(m.group(1)), path.name) if m else (1, 0, path.name)


def read_review(file):
    """The text of one review file (a leading byte-order mark dropped); a ``ValueError`` naming the file and
    the byte when it is not UTF-8."""
    data = file.read_bytes()
    try:
        return data.decode("utf-8-sig")  # a byte-order mark at the start ("UTF-8 with BOM") is not text
    except UnicodeDecodeError as e:
        raise ValueError(
            f"The review {file} is not UTF-8 text: byte {data[e.start]:#04x} at position {e.start} "
            f"({e.reason}; Windows-1252 and Latin-1 files have such bytes). Every review must be UTF-8: "
            "re-save it as UTF-8 (for example iconv -f latin1 -t utf-8), or delete it."
        ) from None


def read_class_folder(folder):
    """(texts, files) of the ``.txt`` reviews in one folder, empty ones skipped with a warning."""
    texts, files, empty = [], [], []
    for file in sorted(folder.glob("*.txt"), key=review_order):
        text = read_review(file)
        if text.strip():
            texts.append(text)
            files.append(file)
        else:
            empty.append(file)
    if empty:
        names = ", ".join(f.name for f in empty[:5]) + (", ..." if len(empty) > 5 else "")
        warnings.warn(
            f"Skipped {len(empty)} empty review file(s) in {folder}: {names}. A review needs some text; "
            "delete these files (or fill them) to silence this warning."
        )
    return texts, files


def read_imdb_folder(path, split="train", unsup=False, classes=IMDB_CLASSES):
    """(texts, labels, files) of ``path/split/<class>/*.txt`` for each class (label: the class folder's name);
    ``unsup=True`` adds ``path/split/unsup`` (label ``"unsup"``), the unlabelled reviews for language models."""
    root = check_path(path, "IMDB data folder", kind="folder")
    split_dir = root / split
    if not split_dir.is_dir():
        there = sorted(p.name for p in root.iterdir() if p.is_dir())
        shown = ", ".join(there) or "no folders"
        raise FileNotFoundError(
            f"The IMDB folder {root} has no {split!r} folder (it has: {shown}). Pass the aclImdb "
            "folder itself, which holds train/ and test/."
        )
    names = list(classes) + (["unsup"] if unsup else [])
    texts, labels, files = [], [], []
    for name in names:
        folder = split_dir / name
        if not folder.is_dir():
            there = sorted(p.name + ("/" if p.is_dir() else "") for p in split_dir.iterdir())
            shown = ", ".join(there[:10]) + (", ..." if len(there) > 10 else "")
            raise FileNotFoundError(
                f"The class folder {folder} is missing: {split_dir} holds {shown or 'nothing'}. "
                f"Each of {', '.join(names)} needs a folder of .txt reviews there (is the archive "
                "fully extracted?)."
            )
        t, f = read_class_folder(folder)
        if not t:
            raise ValueError(
                f"The class folder {folder} holds no reviews (no non-empty .txt files). Put the "
                f"{name!r} reviews there, one .txt file each."
            )
        texts += t
        files += f
        labels += [name] * len(t)
    return texts, labels, files


TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes"), ("false", "0", "no")  # is_valid's spellings, any case


def lines_of(rows):
    """``'line 3'`` or ``'lines 3, 7, 9, ...'`` for row positions of a CSV read with its header on line 1."""
    lines = [str(i + 2) for i in rows]
    return f"line{'s' if len(lines) > 1 else ''} " + ", ".join(lines[:5]) + (", ..." if len(lines) > 5 else "")


def read_texts_csv(path, label_col="label", text_col="text", valid_col="is_valid"):
    """(texts, labels, is_valid) from a CSV with label, text and is_valid columns (fastai's imdb_sample).

    Every cell is read as text (a review or a label reading ``NA`` stays ``'NA'``). A row with an empty text
    or label is an error naming its line; ``is_valid`` must be True or False (any case; 1/0 and yes/no
    too), anything else (``valid``, an empty cell) is an error naming the line and the value."""
    path = check_path(path, "texts CSV file", kind="file")
    df = read_csv(
        path,
        what="texts CSV file",
        expect="a header label,text,is_valid and one review per row",
        dtype=str,
        keep_default_na=False,
    )
    label_col, text_col, valid_col = check_columns(df, [label_col, text_col, valid_col], path)
    for col, what in ((text_col, "text"), (label_col, "label")):
        empty = (df[col].str.strip() == "").to_numpy().nonzero()[0]
        if len(empty):
            raise ValueError(
                f"{path} has {len(empty)} row(s) with no {what} in column {col!r}, on {lines_of(empty)} "
                "(the header is line 1). Fill them in or remove those rows."
            )
    flags = df[valid_col].str.strip().str.lower()
    bad = (~flags.isin(TRUE_WORDS + FALSE_WORDS)).to_numpy().nonzero()[0]
    if len(bad):
        value = df[valid_col].iloc[bad[0]]
        raise ValueError(
            f"{path} line {bad[0] + 2}: {valid_col} is {value!r}, which is neither True nor False"
            f"{f' ({len(bad)} such rows, on {lines_of(bad)})' if len(bad) > 1 else ''}. Write True for a "
            "validation row and False for a training row (true/false, 1/0 and yes/no are read too)."
        )
    return df[text_col].tolist(), df[label_col].tolist(), flags.isin(TRUE_WORDS).tolist()


def python_corpus(docstrings=True):
    """Real English text that ships with Python: the reference manual's topics (``pydoc_data.topics``), then
    (``docstrings=True``) the docstrings of a fixed list of standard-library modules, one text per item."""
    import argparse, bisect, collections, csv, dataclasses, datetime, decimal, enum, fractions, functools  # noqa: E401
    import heapq, inspect, itertools, json, logging, os, pathlib, random, re, shutil, statistics  # noqa: E401
    import string, subprocess, textwrap, threading, unittest  # noqa: E401
    from pydoc_data.topics import topics

    texts = [topics[k] for k in sorted(topics)]
    if not docstrings:
        return texts
    modules = (
        argparse,
        bisect,
        collections,
        csv,
        dataclasses,
        datetime,
        decimal,
        enum,
        fractions,
        functools,
        heapq,
        itertools,
        json,
        logging,
        os,
        pathlib,
        random,
        re,
        shutil,
        statistics,
        string,
        subprocess,
        textwrap,
        threading,
        unittest,
    )
    for module in modules:
        for obj in [module] + [getattr(module, a) for a in sorted(dir(module)) if not a.startswith("_")]:
            own = obj is module or getattr(obj, "__module__", None) == module.__name__
            doc = inspect.getdoc(obj) if own else None
            if doc and len(doc.split()) >= 20:  # skip one-liners: too short to teach a language model much
                texts.append(doc)
    return texts
