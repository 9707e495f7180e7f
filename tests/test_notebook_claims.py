"""No result typed by hand into a lesson's prose or comments: a sentence that states a result reads it from the run.

Notebooks are saved without outputs, so the check is static. Every figure that looks like a result (a decimal
number, a percentage, points, decibels, seconds or a speed-up) in a sentence that talks about a result (accuracy,
loss, error, IoU, mAP, BLEU, Dice, RMSE, perplexity, F2, PSNR, a ratio, a score, faster...) in a markdown cell or a
code comment must be one of the recognised forms:

(a) a **published** figure: its sentence names where it was published, "2018" (the 2018 course, quoted from
    ``../shared/ANCHORS-2018.md``; when that file is there, every such figure must be one it records, as written
    or rounded), "2019" (the 2019 course) or a "paper";
(b) a **measured** figure: its sentence (a table: with the paragraph above it) names in backticks the command that
    measured it (``python benchmarks/....py``, ``tests/....py``, ``python -m coursekit.run ...``), and a figure of
    seeds is a range over the seeds, never one seed's. A range over seeds is measured by
    ``python benchmarks/seed_ranges.py nbs/<lesson>.ipynb --mode M --seeds 0 1 2``, which records every final metric
    of each seed in ``benchmarks/seeds/``; the quoted range must be a recorded metric's lowest and highest value,
    as written or rounded: "0.82-0.88 over seeds 0-2 (`python benchmarks/seed_ranges.py nbs/... --mode small`)";
(c) not a result at all: a setting written as code (in backticks, or in ``$...$``), a threshold (``IoU >= 0.5``,
    ``mAP@0.5``), an integer count (classes, images, epochs), a rate in scientific notation (``3e-3``).

Everything else that the run itself produces is printed by the notebook next to the sentence that talks about it
(an f-string in the cell above or below), never typed, so that it cannot drift from the run.
"""

import io
import json
import os
import re
import tokenize
from pathlib import Path

import pytest

NBS = sorted((Path(__file__).parent.parent / "nbs").glob("*.ipynb"))

RESULT_WORDS = re.compile(
    r"\b(accura\w*|loss(es)?|errors?|iou|m?ap|bleu|dice|rmse|rmspe|mse|perplexit\w*|f2|psnr|fr[eé]chet|ratios?|"
    r"scor\w*|points?|faster|slower|speed-?up|seconds|reach\w*|gain\w*|beat\w*|helped|won|wins|chance|baseline|"
    r"better|worse|good|within|close|lower|higher)\b",
    re.I,
)
NUMBER = r"\d+(?:\.\d+)?"
FIGURE = re.compile(
    rf"(?<![\w.@<>=])(?:\d+\.\d+(?:\s*(?:-|to)\s*{NUMBER})?%?"  # a decimal, or a range of them
    rf"|{NUMBER}\s*%|{NUMBER}\s*(?:points?|dB|s\b|seconds|x\b|times\b))"  # a share, a difference, a time, a speed-up
    rf"|(?<=\b(?:BLEU|PSNR) )\d+",
    re.I,
)
NOT_FIGURES = [  # (c): code, maths, thresholds, versions, citations: removed before looking for figures
    re.compile(r"`[^`]*`"),
    re.compile(r"\$[^$]*\$"),
    re.compile(r"(?:>=|<=|>|<|@)\s*" + NUMBER),
    re.compile(NUMBER + r"(?:\s*,\s*" + NUMBER + r")*\s*,\s*\.\.\.\s*,\s*" + NUMBER),  # a grid: 0, 0.01, ..., 1
    re.compile(
        r"\b(?:IoU|thresholds?|at|above|below)(?:\s+thresholds?)?\s+"
        + NUMBER
        + r"(?:\s*(?:,|and|or|to)\s*"
        + NUMBER
        + ")*"
    ),
    re.compile(r"\w\(\s*" + NUMBER + r"[^)]*\)"),  # an argument: LeakyReLU(0.2)
    re.compile(r"\b(?:Python|Python \d\.|version|v)\s*" + NUMBER, re.I),
    re.compile(r"\]\([^)]*\)"),  # link targets
]
PUBLISHED = re.compile(r"\b201[89]\b|\bpaper\b|\bpublished\b", re.I)
COMMAND = re.compile(
    r"`(?:[A-Z_]+=\S+\s+)*(?:python|pytest|make|\.venv/bin/python)\b[^`]*`|`(?:benchmarks|tests)/[^`]+\.py[^`]*`"
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z0-9])|\n(?=\s*(?:[-*] |\d+\. ))")


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def markdown_paragraphs(text):
    """Paragraphs of a markdown cell, a table joined to the paragraph above it (which says what its figures are)."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        if block.lstrip().startswith("|") and paragraphs:
            paragraphs[-1] += "\n" + block
        else:
            paragraphs.append(block)
    return paragraphs


def comment_blocks(code):
    """Consecutive comment lines of a code cell, each run joined into one paragraph (IPython magics skipped)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())
    blocks, last = [], None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [line.split("#", 1)[1] for line in code.splitlines() if "#" in line]
    for token in tokens:
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            if last is not None and token.start[0] == last + 1:
                blocks[-1] += " " + text
            else:
                blocks.append(text)
            last = token.start[0]
    return blocks


def units(paragraph):
    """The sentences of a paragraph (list items and table rows of a table as one unit with its lead-in)."""
    if "\n|" in paragraph:
        return [paragraph]
    return [s for s in SENTENCE_END.split(paragraph) if s.strip()]


def figures(sentence):
    for pattern in NOT_FIGURES:
        sentence = pattern.sub(" ", sentence)
    return [m.group(0).strip() for m in FIGURE.finditer(sentence)]


def measured(sentence):
    """Form (b): the sentence (a table: with its lead-in) names the command that measured its figures, and a figure
    of seeds is a range over seeds, not one seed's (one seed's figure is the run's own: print it)."""
    prose = re.sub(r"`[^`]*`", " ", sentence)  # the command's own --seeds does not count
    one_seed = re.search(r"\bseed\b", prose, re.I) and not re.search(r"\bseeds\b", prose, re.I)
    return bool(COMMAND.search(sentence)) and not one_seed


def unsourced(paragraph):
    """The sentences of a paragraph that state a result figure in none of the recognised forms, with the figures."""
    found = []
    for sentence in units(paragraph):
        if measured(sentence):
            continue
        figs = figures(sentence)
        is_table = sentence.lstrip().startswith("|") or "\n|" in sentence  # a table of figures is a result table
        if figs and (is_table or RESULT_WORDS.search(sentence)) and not PUBLISHED.search(sentence):
            found.append((" ".join(sentence.split()), figs))
    return found


def violations(nb, name="notebook"):
    """One line per hand-typed result: notebook, cell, where (markdown or comment), the figures and the sentence."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        text = source(cell)
        if cell["cell_type"] == "markdown":
            paragraphs, where = markdown_paragraphs(text), "markdown"
        elif cell["cell_type"] == "code":
            paragraphs, where = comment_blocks(text), "comment"
        else:
            continue
        for paragraph in paragraphs:
            for sentence, figs in unsourced(paragraph):
                found.append(f"{name} cell {index} ({where}): {', '.join(figs)} in {sentence!r}")
    return found


def prose_sentences(nb):
    """(cell index, cell, sentence) for every sentence of the markdown cells and of the code cells' comments."""
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] not in ("markdown", "code"):
            continue
        text = source(cell)
        paragraphs = markdown_paragraphs(text) if cell["cell_type"] == "markdown" else comment_blocks(text)
        for paragraph in paragraphs:
            for sentence in units(paragraph):
                yield index, cell, sentence


HOW_TO_FIX = (
    "\nA result typed into prose drifts from the run. Print it from the run next to the sentence "
    "(print(f'... {accuracy:.3f}')), or give the range measured over seeds with the command in backticks "
    "(0.82-0.88 over seeds 0-2, `python benchmarks/seed_ranges.py nbs/<lesson>.ipynb --mode small`, whose record "
    "the range must match), or mark a published figure (2018: 0.99)."
)


@pytest.mark.parametrize("path", NBS, ids=lambda p: p.stem)
def test_no_result_is_typed_by_hand(path):
    found = violations(json.loads(path.read_text()), path.name)
    assert not found, "\n".join(found) + HOW_TO_FIX


def planted(path, tmp_path, cell_type, text):
    """A copy of a lesson with one more cell, as a student or an author might add it."""
    nb = json.loads(path.read_text())
    cell = {"cell_type": cell_type, "id": "planted", "metadata": {}, "source": text}
    if cell_type == "code":
        cell.update(outputs=[], execution_count=None)
    nb["cells"].insert(len(nb["cells"]) // 2, cell)
    copy = tmp_path / path.name
    copy.write_text(json.dumps(nb))
    return json.loads(copy.read_text())


LESSON = NBS[0] if NBS else None


@pytest.mark.parametrize(
    "cell_type, text",
    [
        ("markdown", "With seed 42 the unfrozen model reaches an accuracy of 0.857, and TTA adds 3 points."),
        ("markdown", "| step | seed 42 |\n|---|---|\n| with TTA | 0.883 |"),
        ("markdown", "Augmentation helped: the validation loss fell to 0.41 on this sample."),
        ("markdown", "The whole recipe runs 1.6x faster in bf16."),
        ("code", "x = 1\n# accuracy 0.90-0.94 for seed 42\ny = 2"),
        ("code", "assert x  # the LSTM reaches 1.61 nats per character: its loss is low"),
        # beside a command in the same comment block, as in a FINAL METRICS cell: the command does not cover it
        (
            "code",
            "# The floors leave a margin. Seed 42 reaches accuracy 0.91.\n# `python benchmarks/bench_lesson08.py`\n",
        ),
        ("markdown", "With seed 42 the accuracy is 0.91 (`python benchmarks/bench_lesson01_steps.py --seeds 42`)."),
    ],
)
def test_a_planted_figure_fails(tmp_path, cell_type, text):
    found = violations(planted(LESSON, tmp_path, cell_type, text), LESSON.name)
    assert len(found) == len(violations(json.loads(LESSON.read_text()), LESSON.name)) + 1, found


@pytest.mark.parametrize(
    "cell_type, text",
    [
        ("markdown", "In 2018 resnet34 reached **0.991** accuracy after two epochs."),
        (
            "markdown",
            "Over seeds 0-2 the accuracy was 0.82-0.88 (`python benchmarks/seed_ranges.py nbs/x.ipynb --mode small`).",
        ),
        ("markdown", "A detection is right if its IoU >= 0.5; mAP@0.5 averages AP over the classes."),
        ("markdown", "The loss peaks at `3e-3` and the learning rate is 3e-3 for 400 images and 2 classes."),
        ("code", "lr = 3e-3  # the loss is smallest near here: 10 epochs, 2 classes"),
        ("code", 'print(f"augmentation changed accuracy by {delta:+.3f}")  # printed, not typed'),
    ],
)
def test_the_recognised_forms_pass(tmp_path, cell_type, text):
    base = violations(json.loads(LESSON.read_text()))
    assert len(violations(planted(LESSON, tmp_path, cell_type, text))) == len(base)


# ../shared, found as the real data's parent (COURSEKIT_SHARED_DATA, default ../shared/data), as conftest does
SHARED = Path(os.environ.get("COURSEKIT_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
ANCHORS = SHARED.parent / "ANCHORS-2018.md"
QUOTED_2018 = re.compile(r"\b2018\b")
OTHER_SOURCE = re.compile(r"\b2019\b|\bpaper\b|\bpublished\b", re.I)  # a sentence that also quotes another source


def anchor_numbers(text):
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


def is_quoted(figure, numbers):
    """Whether a figure ("94.3%", "0.116", "0.17-0.24") is one of the anchors' numbers as written or rounded
    (0.9427 -> 94.3%), read as a fraction or a percentage."""
    for part in re.findall(r"\d+(?:\.\d+)?", figure):
        decimals = len(part.split(".")[1]) if "." in part else 0
        value = float(part)
        scales = (1, 100) if "%" in figure else (1, 0.01)
        if not any(round(x * s, decimals) == value for x in numbers for s in scales):
            return False
    return True


def unquoted_2018_figures(nb, numbers, name="notebook"):
    """Figures in sentences that present them as the 2018 course's but that ANCHORS-2018.md does not hold."""
    found = []
    for index, _, sentence in prose_sentences(nb):
        quoted = QUOTED_2018.search(sentence) and not OTHER_SOURCE.search(sentence)
        if not (quoted and RESULT_WORDS.search(sentence)):
            continue
        missing = [f for f in figures(sentence) if not is_quoted(f, numbers)]
        if missing:
            found.append(f"{name} cell {index}: {', '.join(missing)} in {' '.join(sentence.split())!r}")
    return found


@pytest.mark.parametrize("path", NBS, ids=lambda p: p.stem)
def test_a_2018_figure_is_quoted_from_the_anchors(path):
    if not ANCHORS.exists():
        pytest.skip(f"{ANCHORS} is absent: the published 2018 figures cannot be checked against it")
    found = unquoted_2018_figures(json.loads(path.read_text()), anchor_numbers(ANCHORS.read_text()), path.name)
    assert not found, "\n".join(found) + (
        f"\nA figure attributed to 2018 must be one that {ANCHORS.name} records (as written, or rounded): fix the "
        "figure, or say where else it was published."
    )


def test_a_misquoted_2018_figure_fails():
    numbers = anchor_numbers("Result: **0.9427 after 30 epochs**. RF 0.1156. Accuracy 0.818.")
    good = {"cells": [{"cell_type": "markdown", "source": "In 2018 it reached **94.3%** accuracy (the forest 0.116)."}]}
    bad = {"cells": [{"cell_type": "markdown", "source": "In 2018 it reached **95.3%** accuracy (the forest 0.116)."}]}
    assert unquoted_2018_figures(good, numbers) == []
    assert len(unquoted_2018_figures(bad, numbers)) == 1


# Ranges over seeds, checked against what benchmarks/seed_ranges.py recorded
SEED_RECORDS = Path(__file__).resolve().parents[1] / "benchmarks" / "seeds"
SEED_RANGES = re.compile(r"`[^`]*benchmarks/seed_ranges\.py\s+(\S+)([^`]*)`")
RANGE = re.compile(rf"(?<![\w.])(-?{NUMBER})\s*(?:-|to)\s*\+?(-?{NUMBER})(%?)")
OVER_SEEDS = re.compile(r"\bseeds\b", re.I)
SEED_LIST = re.compile(
    rf"\bseeds?\s+{NUMBER}(?:\s*(?:-|to|,|and)\s*{NUMBER})*", re.I
)  # "seeds 0-2", "seeds 0, 1 and 2"
# Ranges over seeds measured before the records existed, by cell id: each is to be measured again with
# benchmarks/seed_ranges.py (their figures are not final metrics yet, or a run takes longer than a session had).
NOT_YET_RECORDED = {
    ("lesson07_rnn", "results-md"): "each step's change in validation loss: printed per run, not a final metric",
    ("lesson08_pascal", "l8-cam-note"): "the class maps' share inside the box: printed per run, not final metrics",
    ("lesson09_ssd", "l09-01"): "24 epochs instead of 12: a setting other than the lesson's",
}


def without_seed_lists(sentence):
    """The sentence with what is not a figure removed (code, thresholds, ...) and the seeds' own numbers too."""
    for pattern in [*NOT_FIGURES, SEED_LIST]:
        sentence = pattern.sub(" ", sentence)
    return sentence


def recorded_ranges(stem, mode):
    """{metric: (lowest, highest)} over the seeds recorded for a notebook in a mode ({} with no record)."""
    path = SEED_RECORDS / f"{stem}.{mode}.json"
    if not path.exists():
        return {}
    runs = json.loads(path.read_text())["seeds"].values()
    names = {k for m in runs for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {k: (min(m[k] for m in runs if k in m), max(m[k] for m in runs if k in m)) for k in names}


def matches(low, high, percent, lowest, highest):
    """Whether a quoted range ("0.72-0.81", "72-81%") is a recorded lowest and highest, as written or rounded."""
    for scale in (100,) if percent else (1, 100):
        ok = True
        for text, value in ((low, lowest), (high, highest)):
            decimals = len(text.split(".")[1]) if "." in text else 0
            ok = ok and round(value * scale, decimals) == float(text)
        if ok:
            return True
    return False


def unrecorded_ranges(nb, stem, records=recorded_ranges):
    """Ranges over seeds in a notebook's prose that no record backs: one line each, with what to do."""
    found = []
    for index, cell, sentence in prose_sentences(nb):
        ranges = RANGE.findall(without_seed_lists(sentence))
        if not ranges or not OVER_SEEDS.search(sentence) or PUBLISHED.search(sentence):
            continue
        where = f"{stem} cell {index} ({cell.get('id')})"
        command = SEED_RANGES.search(sentence)
        if command is None:
            if (stem, cell.get("id")) not in NOT_YET_RECORDED:
                found.append(f"{where}: a range over seeds with no record: {' '.join(sentence.split())[:160]!r}")
            continue
        mode = re.search(r"--mode\s+(\w+)", command.group(2))
        stem_named, mode_named = Path(command.group(1)).stem, mode.group(1) if mode else "sample"
        recorded = records(stem_named, mode_named)
        if not recorded:
            found.append(
                f"{where}: no record benchmarks/seeds/{stem_named}.{mode_named}.json for the ranges of "
                f"{' '.join(sentence.split())[:120]!r}: run the command it names and commit the record"
            )
            continue
        for low, high, percent in ranges:
            if not any(matches(low, high, percent, lo, hi) for lo, hi in recorded.values()):
                found.append(
                    f"{where}: {low}-{high}{percent} is no metric's range in the record of "
                    f"`{command.group(0).strip('`')}` (recorded: "
                    + ", ".join(f"{k} {lo:.3f}-{hi:.3f}" for k, (lo, hi) in sorted(recorded.items()))
                    + ")"
                )
    return found


RECORD_HOW_TO = (
    "\nA range over seeds is measured, never typed: run the command the sentence names (`python "
    "benchmarks/seed_ranges.py nbs/<lesson>.ipynb --mode sample|small --seeds 0 1 2`), commit its record in "
    "benchmarks/seeds/, and quote the range it prints for the metric."
)


@pytest.mark.parametrize("path", NBS, ids=lambda p: p.stem)
def test_a_range_over_seeds_is_the_recorded_one(path):
    found = unrecorded_ranges(json.loads(path.read_text()), path.stem)
    assert not found, "\n".join(found) + RECORD_HOW_TO


def fake_records(stem, mode):
    return {"pixel_accuracy": (0.7243, 0.8114), "majority_baseline": (0.31, 0.33)} if mode == "small" else {}


@pytest.mark.parametrize(
    "text, ok",
    [
        (
            "Over seeds 0-2 accuracy 0.724-0.811 (`python benchmarks/seed_ranges.py x.ipynb --mode small`).",
            True,
        ),
        (
            "Over seeds 0-2 accuracy 72.4-81.1% (`python benchmarks/seed_ranges.py x.ipynb --mode small`).",
            True,
        ),
        (
            "Over seeds 0-2 accuracy 0.72-0.81 (`python benchmarks/seed_ranges.py x.ipynb --mode small`).",
            True,
        ),
        # a range typed from memory, a narrower or wider one, or one read from another mode's record
        (
            "Over seeds 0-2 accuracy 0.824-0.911 (`python benchmarks/seed_ranges.py x.ipynb --mode small`).",
            False,
        ),
        (
            "Over seeds 0-2 accuracy 0.75-0.81 (`python benchmarks/seed_ranges.py x.ipynb --mode small`).",
            False,
        ),
        ("Over seeds 0-2 accuracy 0.724-0.811 (`python benchmarks/seed_ranges.py x.ipynb`).", False),
        # a range over seeds measured by some other command has no record to be checked against
        (
            "Over seeds 0-2 the accuracy was 0.82-0.88 (`python benchmarks/bench_lesson01_steps.py --seeds 0 1 2`).",
            False,
        ),
    ],
)
def test_a_quoted_range_must_be_the_recorded_one(text, ok):
    nb = {"cells": [{"cell_type": "markdown", "id": "planted", "source": text}]}
    assert (unrecorded_ranges(nb, "lesson03_segmentation", fake_records) == []) == ok


def test_the_records_name_their_notebook_and_three_seeds():
    for path in sorted(SEED_RECORDS.glob("*.json")):
        record = json.loads(path.read_text())
        assert path.name == f"{Path(record['notebook']).stem}.{record['mode']}.json", path
        assert len(record["seeds"]) >= 3, f"{path}: a range over seeds needs at least three of them"
