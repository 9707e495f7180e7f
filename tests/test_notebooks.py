"""The lessons fail when their results degrade: each notebook's last cell checks its metrics against floors
(``report_final_metrics(..., expect=...)``), so nbval, which runs them without comparing outputs, catches a
model that quietly falls to chance. Checked here by planting a regression in the quickest lesson."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LESSON = REPO / "nbs" / "lesson06_collab.ipynb"


def with_parameter(notebook, name, value, dest):
    """A copy of ``notebook`` at ``dest`` whose parameters cell sets ``name = value``."""
    nb = json.loads(notebook.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    source, n = re.subn(rf"^{name} = [^#\n]*", f"{name} = {value}  ", "".join(cell["source"]), flags=re.M)
    assert n == 1, f"no line '{name} = ...' in the parameters cell of {notebook}"
    cell["source"] = source.splitlines(keepends=True)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return dest


def run_nbval(notebook):
    """The Makefile's ``nbs`` step on one notebook; returns (exit code, output)."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "--nbval-lax",
        "--nbval-cell-timeout=300",
        "-p",
        "no:cacheprovider",
        str(notebook),
    ]
    done = subprocess.run(
        cmd,
        cwd=notebook.parent,
        env={**os.environ, "COURSEKIT_MODE": "sample"},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.kernel
def test_a_lesson_whose_model_stops_learning_fails_under_nbval(tmp_path):
    broken = with_parameter(LESSON, "lr", "0.0", tmp_path / LESSON.name)  # every model stays at its start
    code, out = run_nbval(broken)
    assert code != 0, out[-3000:]
    assert "MetricBelowExpected" in out and "this lesson expects <= 0.8" in out, out[-3000:]
    assert re.search(r"\+ biases \+ y-range = 1\.\d+, but this lesson expects <= 0\.8\b", out), out[-3000:]
