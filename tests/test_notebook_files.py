"""Every lesson notebook is committed the way the course needs it: no outputs (a diff shows code, not a run's
pictures and timings, and a student's first run is their own), unique cell ids, a parameters cell with the data
mode and the seed, the data-mode line, and a last cell that checks the lesson's headline metric against its floor."""

import json
import re
from pathlib import Path

import pytest

NBS = sorted((Path(__file__).parent.parent / "nbs").glob("*.ipynb"))


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_lessons_are_there():
    assert len(NBS) >= 9, [p.name for p in NBS]


@pytest.mark.parametrize("path", NBS, ids=lambda p: p.stem)
def test_a_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    run = [i for i, c in enumerate(code_cells(nb)) if c.get("outputs") or c.get("execution_count") is not None]
    assert not run, f"{path.name}: code cells {run} hold outputs; clear them (Edit > Clear All Outputs) and save"


@pytest.mark.parametrize("path", NBS, ids=lambda p: p.stem)
def test_a_notebook_follows_the_lesson_pattern(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    ids = [c.get("id") for c in nb["cells"]]
    assert None not in ids and len(ids) == len(set(ids)), f"{path.name}: cell ids missing or repeated"
    params = [c for c in code_cells(nb) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{path.name}: one code cell tagged 'parameters' holds the knobs"
    assert re.search(r"^mode\s*=", source(params[0]), re.M) and re.search(r"^seed\s*=", source(params[0]), re.M)
    assert any("describe_mode(" in source(c) for c in code_cells(nb)), f"{path.name}: no data-mode line"
    last = source(code_cells(nb)[-1])
    assert "report_final_metrics(" in last and "expect=" in last, f"{path.name}: the last cell checks no floor"
