"""Multi-label results that hold up: a decision threshold scored only on images it was not chosen on
(out-of-fold), predictions for unlabelled image files, a Kaggle-style submission table (image_name,tags), and the
baseline a model has to beat: the best constant tag set, the same tags predicted for every image.

Searching the threshold on the validation set and scoring it there too is optimistic: the search fits the
noise of those images. Here each fold of the validation set is scored with a threshold chosen on the others.
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from coursekit import metrics
from coursekit.vision.loaders import ImageDataset


def fold_ids(n, n_folds=2, seed=0):
    """(n,) fold number of each item: a seeded shuffle cut into ``n_folds`` parts of (nearly) equal size."""
    if not 2 <= n_folds <= n:
        raise ValueError(f"n_folds={n_folds} needs 2 <= n_folds <= the number of items ({n}).")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    folds = torch.empty(n, dtype=torch.long)
    folds[order] = torch.arange(n) % n_folds
    return folds


@dataclass
class OutOfFold:
    """Thresholds chosen out of fold: ``thresholds[k]`` was searched on every fold but ``k``."""

    folds: torch.Tensor  # (n,) fold of each item
    thresholds: list  # one threshold per fold
    beta: float = 2.0

    def per_item(self):
        """(n,) the threshold each item is judged with: its fold's, which never saw it."""
        return torch.tensor(self.thresholds)[self.folds]

    def score(self, probs, targets):
        """Mean F-beta over all items, each item cut at its own fold's threshold: an honest estimate. Give it
        other probabilities for the same items (TTA's) to score them with the same thresholds."""
        if len(probs) != len(self.folds):
            raise ValueError(f"{len(probs)} predictions, but the folds were made for {len(self.folds)} items.")
        return metrics.fbeta_from_probs(probs, targets, self.beta, self.per_item()).item()


def out_of_fold_thresholds(probs, targets, n_folds=2, beta=2.0, seed=0, thresholds=None):
    """Split the items into ``n_folds`` folds and, for each, search the best F-beta threshold on the other
    folds (``metrics.best_threshold``); ``.score(probs, targets)`` then scores every item out of fold."""
    if probs.shape != targets.shape:
        raise ValueError(
            f"probs {tuple(probs.shape)} and targets {tuple(targets.shape)} must have the same shape (items, tags)."
        )
    folds = fold_ids(len(probs), n_folds, seed)
    chosen = [
        metrics.best_threshold(probs[folds != k], targets[folds != k], beta, thresholds)[0] for k in range(n_folds)
    ]
    return OutOfFold(folds, chosen, beta)


def best_constant(targets, beta=2.0, exhaustive_up_to=12):
    """(tag set as a 0/1 float vector, its mean F-beta on ``targets``): the constant prediction, the same tags for
    every item, that scores best on these multi-hot ``targets``. Every set is tried with up to
    ``exhaustive_up_to`` tags; with more, tags are added one at a time while the score improves (greedy)."""
    targets = torch.as_tensor(targets).float()
    if targets.ndim != 2 or not len(targets):
        raise ValueError(f"targets must be a non-empty (items, tags) multi-hot matrix, not {tuple(targets.shape)}.")
    n = targets.shape[1]

    def score(tag_set):
        return metrics.fbeta_from_probs(tag_set.expand_as(targets), targets, beta, 0.5).item()

    if n <= exhaustive_up_to:
        bits = torch.arange(1, 2**n)[:, None].bitwise_right_shift(torch.arange(n)).bitwise_and(1).float()
        scores = [score(b) for b in bits]
        best = max(range(len(scores)), key=scores.__getitem__)
        return bits[best], scores[best]
    chosen, best_score = torch.zeros(n), 0.0
    while True:
        trials = [(score(chosen.clone().index_fill_(0, torch.tensor([j]), 1.0)), j) for j in range(n) if not chosen[j]]
        if not trials or max(trials)[0] <= best_score:
            return chosen, best_score
        best_score, j = max(trials)
        chosen[j] = 1.0


def unlabelled_dl(files, dls):
    """A loader over image files without labels (a test set), with ``dls``'s validation transforms and batch
    size; its targets are all zeros. ``learn.get_preds(dl)`` and ``learn.tta(dl=dl)`` take it."""
    files = [Path(f) for f in files]
    if not files:
        raise ValueError("No test images given: pass a list of image files (e.g. sorted(folder.glob('*.jpg'))).")
    valid = dls.valid
    ds = ImageDataset(files, torch.zeros(len(files), dls.c), dls.classes, valid.dataset.tfms, multi_label=True)
    return torch.utils.data.DataLoader(
        ds, valid.batch_size, shuffle=False, num_workers=valid.num_workers, collate_fn=valid.collate_fn
    )


def submission(names, probs, classes, thresh, at_least_one=True):
    """Kaggle's table: ``image_name`` and ``tags`` (space-separated, where ``probs > thresh``, in class order).
    ``at_least_one``: an image where no tag passes gets its most likely tag (every Planet tile has a weather)."""
    import pandas as pd

    if len(names) != len(probs):
        raise ValueError(f"{len(names)} image names but {len(probs)} rows of predictions.")
    if probs.shape[1] != len(classes):
        raise ValueError(f"predictions have {probs.shape[1]} columns but there are {len(classes)} classes.")
    chosen = probs > thresh
    if at_least_one:
        chosen[torch.arange(len(probs)), probs.argmax(dim=1)] = True  # the top tag is kept either way
    tags = [" ".join(classes[j] for j in row.nonzero().flatten().tolist()) for row in chosen]
    return pd.DataFrame({"image_name": list(names), "tags": tags})
