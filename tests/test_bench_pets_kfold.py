"""The 5-fold split of ``benchmarks/bench_pets_real.py``, which scores the whole lesson-1 recipe on the real Pets
photos over all five folds (about 5 minutes a fold here). The recipe on real photos itself is lesson 1's small mode
(``make small``), with its floors in the notebook."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_kfold_split_holds_every_photo_out_exactly_once():
    from bench_pets_real import kfold_indices

    folds = kfold_indices(450, 5, seed=42)
    held = sorted(i for _, valid in folds for i in valid)
    assert held == list(range(450))
    assert all(len(valid) == 90 and not set(train) & set(valid) for train, valid in folds)
    with pytest.raises(ValueError, match="n_folds"):
        kfold_indices(10, 1)
