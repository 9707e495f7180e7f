"""The README's lessons table and layout table stay true as lessons and modules land."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def section(title):
    """The README's text under ``## title``, up to the next ``## `` heading."""
    text = (REPO / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def test_the_lessons_table_lists_exactly_the_notebooks_in_nbs():
    listed = re.findall(r"^\| `(lesson\d\d\w*)` \|", section("The lessons"), flags=re.M)
    present = sorted(p.stem for p in (REPO / "nbs").glob("lesson*.ipynb"))
    assert len(listed) == len(set(listed)), f"a lesson is listed twice: {listed}"
    missing, stale = sorted(set(present) - set(listed)), sorted(set(listed) - set(present))
    assert not missing and not stale, (
        f"README.md's lessons table is out of date: add {missing}, remove {stale} (one row per notebook in nbs/)"
    )
    assert listed == sorted(listed), "keep the lessons table in lesson order"


def test_the_layout_table_names_every_module_of_each_sub_package():
    layout = section("Layout")
    for package in ("text", "vision", "tabular"):
        row = re.search(rf"^\| `coursekit/{package}/` \| (.*) \|$", layout, flags=re.M)
        assert row, f"the layout table has no row for coursekit/{package}/"
        modules = sorted(p.stem for p in (REPO / "coursekit" / package).glob("*.py") if p.stem != "__init__")
        unnamed = [m for m in modules if f"`{m}`" not in row.group(1)]
        assert not unnamed, f"README.md's layout row for coursekit/{package}/ does not name {unnamed}"
