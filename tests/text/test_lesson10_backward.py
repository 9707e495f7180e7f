"""Lesson 10's backward model and forward + backward ensemble run only in full mode by default (time); this runs
the notebook in sample mode with ``backwards = True``, so every CI run exercises that path too."""

import os
import re
import subprocess
import sys

import pytest

from test_notebooks import REPO, with_parameter

LESSON = REPO / "nbs" / "lesson10_ulmfit.ipynb"


@pytest.mark.kernel
def test_lesson10_with_the_backward_model_and_the_ensemble_runs_and_reports_both(tmp_path):
    nb = with_parameter(LESSON, "backwards", "True", tmp_path / LESSON.name)
    nb = with_parameter(nb, "no_pretraining", "False", nb)  # the control is checked by the default run
    done = subprocess.run(
        [sys.executable, "-m", "coursekit.run", str(nb), "--out", str(tmp_path / "runs")],
        cwd=REPO,
        env={**os.environ, "COURSEKIT_MODE": "sample"},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]  # the notebook's own floors (forward accuracy >= 0.56) held
    found = dict(re.findall(r"^  (\w+): ([\d.]+)$", out, flags=re.M))
    for name in ("forward_accuracy", "backward_accuracy", "ensemble_accuracy"):
        assert 0.0 <= float(found[name]) <= 1.0, out[-3000:]
    print({k: found[k] for k in ("forward_accuracy", "backward_accuracy", "ensemble_accuracy")})
