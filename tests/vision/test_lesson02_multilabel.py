"""Lesson 2's multi-label helpers: out-of-fold thresholds, predictions for unlabelled files, the submission."""

import pytest
import torch
from PIL import Image

from coursekit import metrics
from coursekit.vision import multilabel
from coursekit.vision.loaders import image_dls_from_items


def test_fold_ids_are_balanced_seeded_and_cover_every_item():
    folds = multilabel.fold_ids(11, n_folds=2, seed=3)
    assert sorted(torch.bincount(folds).tolist()) == [5, 6]
    assert torch.equal(folds, multilabel.fold_ids(11, n_folds=2, seed=3))
    assert not torch.equal(folds, multilabel.fold_ids(11, n_folds=2, seed=4))


def test_fold_ids_reject_more_folds_than_items():
    with pytest.raises(ValueError, match="n_folds"):
        multilabel.fold_ids(3, n_folds=4)


def test_fbeta_per_item_averages_to_the_metric_of_the_library():
    gen = torch.Generator().manual_seed(0)
    probs, targets = torch.rand(20, 5, generator=gen), (torch.rand(20, 5, generator=gen) > 0.6).float()
    per_item = metrics.fbeta_per_item(probs, targets, thresh=0.3)
    assert per_item.shape == (20,)
    assert per_item.mean().item() == pytest.approx(metrics.fbeta_from_probs(probs, targets, 2, 0.3).item(), abs=1e-6)


def test_each_fold_is_judged_with_a_threshold_chosen_on_the_other_folds():
    gen = torch.Generator().manual_seed(1)
    probs, targets = torch.rand(40, 4, generator=gen), (torch.rand(40, 4, generator=gen) > 0.5).float()
    oof = multilabel.out_of_fold_thresholds(probs, targets, n_folds=2, seed=0)
    for k in range(2):
        other = oof.folds != k
        assert oof.thresholds[k] == metrics.best_threshold(probs[other], targets[other])[0]
    assert torch.equal(oof.per_item(), torch.tensor(oof.thresholds)[oof.folds])


def test_out_of_fold_score_is_no_better_than_the_threshold_searched_on_the_same_items():
    # noise only: the in-sample search finds a lucky threshold, the out-of-fold score does not get its luck
    gen = torch.Generator().manual_seed(2)
    probs, targets = torch.rand(60, 6, generator=gen), (torch.rand(60, 6, generator=gen) > 0.7).float()
    oof = multilabel.out_of_fold_thresholds(probs, targets, n_folds=3, seed=0)
    assert oof.score(probs, targets) <= metrics.best_threshold(probs, targets)[1] + 1e-9


def test_out_of_fold_score_checks_it_gets_the_same_items():
    probs, targets = torch.rand(10, 3), torch.ones(10, 3)
    oof = multilabel.out_of_fold_thresholds(probs, targets)
    with pytest.raises(ValueError, match="10 items"):
        oof.score(probs[:5], targets[:5])


def test_submission_lists_tags_over_the_threshold_and_at_least_the_top_one():
    probs = torch.tensor([[0.9, 0.3, 0.1], [0.05, 0.1, 0.15]])
    table = multilabel.submission(["a", "b"], probs, ["clear", "primary", "road"], thresh=0.2)
    assert list(table.columns) == ["image_name", "tags"]
    assert table["tags"].tolist() == ["clear primary", "road"]
    empty = multilabel.submission(["a", "b"], probs, ["clear", "primary", "road"], 0.2, at_least_one=False)
    assert empty["tags"].tolist() == ["clear primary", ""]


def test_submission_needs_one_name_per_row_of_predictions():
    with pytest.raises(ValueError, match="2 image names"):
        multilabel.submission(["a", "b"], torch.rand(3, 2), ["x", "y"], 0.5)


def test_unlabelled_dl_gives_every_file_once_in_order_with_validation_transforms(tmp_path):
    files = []
    for i in range(5):
        files.append(tmp_path / f"t{i}.jpg")
        Image.new("RGB", (20, 24), (40 * i, 10, 10)).save(files[-1])
    dls = image_dls_from_items(
        files, [[0], [1], [0, 1], [1], [0]], ["a", "b"], valid_idx=[0, 1], size=16, bs=2, multi_label=True
    )
    dl = multilabel.unlabelled_dl(files[::-1], dls)
    xs, ys = zip(*dl)
    assert torch.cat(xs).shape == (5, 3, 16, 16) and torch.cat(ys).sum() == 0
    assert dl.dataset.items == files[::-1]
    # the first image is the last file's: red channel 160/255 everywhere
    assert torch.cat(xs)[0, 0].mean().item() == pytest.approx(160 / 255, abs=0.02)


def test_best_constant_is_the_tag_set_sklearn_scores_best():
    import itertools

    from sklearn.metrics import fbeta_score

    gen = torch.Generator().manual_seed(2)
    targets = (torch.rand(30, 5, generator=gen) < torch.tensor([0.8, 0.5, 0.3, 0.1, 0.05])).float()
    targets[targets.sum(1) == 0, 0] = 1.0  # every item has a tag, as in lesson 2's data
    ref = {
        s: fbeta_score(targets.numpy(), [s] * len(targets), beta=2, average="samples", zero_division=0)
        for s in itertools.product([0, 1], repeat=5)
        if any(s)
    }
    best = max(ref, key=ref.get)
    tags, score = multilabel.best_constant(targets)
    assert tuple(int(t) for t in tags.tolist()) == best and score == pytest.approx(ref[best], abs=1e-5)
    greedy, greedy_score = multilabel.best_constant(targets, exhaustive_up_to=0)  # the way for many tags
    assert greedy_score <= score + 1e-6 and greedy_score == pytest.approx(ref[tuple(int(t) for t in greedy)], abs=1e-5)
    with pytest.raises(ValueError, match="multi-hot matrix"):
        multilabel.best_constant(torch.zeros(0, 3))
