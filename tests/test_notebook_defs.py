"""The loader that runs a lesson's definition cells for the tests (``tests/notebook_defs.py``)."""

import json

import pytest
from notebook_defs import load_defs


def notebook(tmp_path, cells):
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    for i, (tags, source) in enumerate(cells):
        nb["cells"].append(
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {"tags": tags},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
        )
    path = tmp_path / "lesson99_test.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_only_the_tagged_cells_run_in_order(tmp_path):
    path = notebook(
        tmp_path,
        [
            (["defs"], "import math\nA = 2\n"),
            ([], "raise SystemExit('training cell ran')"),
            (["defs"], "def f(x):\n    return A * math.sqrt(x)\n"),
        ],
    )
    mod = load_defs(str(path))
    assert mod.f(9) == 6.0
    assert mod.__file__ == str(path)


def test_a_notebook_without_tagged_cells_says_what_to_do(tmp_path):
    path = notebook(tmp_path, [([], "A = 1")])
    with pytest.raises(LookupError, match="no code cell is tagged 'defs'"):
        load_defs(str(path))


def test_an_error_names_the_notebook_and_the_cell(tmp_path):
    path = notebook(tmp_path, [(["defs"], "A = 1"), (["defs"], "B = undefined_name")])
    with pytest.raises(NameError) as info:
        load_defs(str(path))
    frames = [str(f.path) for f in info.traceback]
    assert "lesson99_test.ipynb[c1]" in frames
