"""The lesson-1 recipe on real photos (../shared/data/pets) must reach 98% cat-vs-dog accuracy on this CPU."""

import sys
from pathlib import Path

import pytest

from conftest import need_shared

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

pytestmark = pytest.mark.real_data  # training runs on real data: their own step of make test


def test_lesson1_recipe_reaches_98_percent_on_real_pets():
    from bench_pets_real import run

    figures = run(need_shared("pets"))  # 224 px, 2 epochs, head only: about 45 s on this CPU
    print(figures)
    assert figures["n_valid"] == 90
    assert figures["accuracy"] >= 0.98
