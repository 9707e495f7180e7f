"""Builders of the text lessons' small layouts (``coursekit.small``): the lesson's own on-disk layout made from a
small real dataset, so a notebook's loaders are the same in every mode.

``imdb_folders`` turns fast.ai's ``imdb_sample`` (one ``texts.csv``: label,text,is_valid) into the Large Movie
Review Dataset's layout that lessons 4 and 10 read (``train/{neg,pos}``, ``test/{neg,pos}``, one ``.txt`` file
per review). The core never imports a domain, so the files are read here with the standard library.
"""

import csv
from pathlib import Path

IMDB_LABELS = {"negative": "neg", "positive": "pos"}  # imdb_sample's labels -> aclImdb's class folders
IMDB_SPLITS = {"false": "train", "true": "test"}  # is_valid -> aclImdb's split folder


def imdb_folders(src, dest):
    """aclImdb's ``train/{neg,pos}`` and ``test/{neg,pos}`` from ``src/texts.csv``: its ``is_valid`` rows become
    the test split. imdb_sample has no ratings and no unlabelled reviews, so a file is named by the review's row
    in the CSV (``0007.txt``: the 8th review) and there is no ``train/unsup``."""
    path = Path(src) / "texts.csv"
    if not path.is_file():
        raise FileNotFoundError(f"No texts.csv in {src}: is it fast.ai's imdb_sample folder (texts.csv)?")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"label", "text", "is_valid"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path} has columns {reader.fieldnames}, without {sorted(missing)}: fast.ai's imdb_sample has "
                "the header label,text,is_valid."
            )
        for row, review in enumerate(reader):
            label = IMDB_LABELS.get(review["label"].strip().lower())
            split = IMDB_SPLITS.get(review["is_valid"].strip().lower())
            if label is None or split is None or not review["text"].strip():
                raise ValueError(
                    f"{path}, review {row + 1} (line {reader.line_num}): label {review['label']!r}, is_valid "
                    f"{review['is_valid']!r}, {len(review['text'])} characters of text; expected a label "
                    f"{' or '.join(IMDB_LABELS)}, is_valid True or False, and some text."
                )
            out = Path(dest) / split / label / f"{row:04d}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(review["text"], encoding="utf-8")
