"""The lesson-1 recipe on real photos (../shared/data/pets): its first step alone, the head on precomputed
activations, must reach 98% cat-vs-dog accuracy on one fold of the benchmark's 5-fold split (90 held-out photos).

The whole recipe scored over all five folds is ``benchmarks/bench_pets_real.py`` (about 5 minutes a fold here)."""

import sys
from pathlib import Path

import pytest

from conftest import need_shared

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_kfold_split_holds_every_photo_out_exactly_once():
    from bench_pets_real import kfold_indices

    folds = kfold_indices(450, 5, seed=42)
    held = sorted(i for _, valid in folds for i in valid)
    assert held == list(range(450))
    assert all(len(valid) == 90 and not set(train) & set(valid) for train, valid in folds)
    with pytest.raises(ValueError, match="n_folds"):
        kfold_indices(10, 1)


@pytest.mark.real_data  # training runs on real data: their own step of make test
def test_lesson1_head_reaches_98_percent_on_real_pets():
    from bench_pets_real import cross_validate

    figures = cross_validate(need_shared("pets"), only=[0], recipe="head")  # 224 px: about 110 s in CI here
    print(figures)
    assert figures["n_scored"] == 90
    assert figures["right"] / figures["n_scored"] >= 0.98
