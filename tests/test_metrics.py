import pytest
import torch

from coursekit import metrics
from coursekit.vision import loaders


def test_fbeta_hand_worked():
    targets = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0]])
    probs = torch.tensor([[0.9, 0.1, 0.8, 0.1], [0.7, 0.6, 0.6, 0.1]])
    # item 1: predicts tags 0,2: tp 1, precision 1/2, recall 1/2 -> F2 = 5*.25/(4*.5+.5) = 0.5
    # item 2: predicts 0,1,2: tp 1, precision 1/3, recall 1 -> F2 = 5*(1/3)/(4/3+1) = 5/7
    expected = (0.5 + 5 / 7) / 2
    assert metrics.fbeta_from_probs(probs, targets, beta=2, thresh=0.5).item() == pytest.approx(expected, abs=1e-6)
    logits = torch.logit(probs)
    assert metrics.fbeta(logits, targets, beta=2, thresh=0.5).item() == pytest.approx(expected, abs=1e-6)
    assert metrics.fbeta_from_probs(probs, targets, beta=1, thresh=0.5).item() == pytest.approx((0.5 + 0.5) / 2, abs=1e-6)


def test_fbeta_matches_scikit_learn():
    from sklearn import metrics as sklearn_metrics
    g = torch.Generator().manual_seed(0)
    targets = (torch.rand(50, 7, generator=g) < 0.3).float()
    targets[:, 0] = 1  # every item has a tag, as in the Planet data
    probs = torch.rand(50, 7, generator=g)
    ours = metrics.fbeta_from_probs(probs, targets, beta=2, thresh=0.4).item()
    ref = sklearn_metrics.fbeta_score(targets.numpy(), (probs > 0.4).numpy(), beta=2, average="samples", zero_division=0)
    assert ours == pytest.approx(ref, abs=1e-6)


def test_threshold_search_finds_the_best_cut():
    targets = torch.tensor([[1, 0], [0, 1], [1, 1]])
    probs = torch.tensor([[0.35, 0.1], [0.2, 0.3], [0.4, 0.32]])  # every true tag is above 0.25, every false below
    t, score = metrics.best_threshold(probs, targets, beta=2)
    assert 0.2 <= t < 0.3 and score == pytest.approx(1.0, abs=1e-6)


def test_multi_label_accuracy_counts_every_decision():
    targets = torch.tensor([[1, 0, 1, 0]])
    logits = torch.tensor([[3.0, -2.0, -1.0, 1.0]])  # right, right, wrong, wrong
    assert metrics.accuracy_multi(logits, targets).item() == 0.5


def test_unknown_tag_in_a_test_csv_names_the_row(tmp_path):
    (tmp_path / "test.csv").write_text("image_name,tags\na,clear road\nb,clear volcano\n")
    with pytest.raises(ValueError, match="row 3.*volcano"):
        loaders.read_tags_csv(tmp_path / "test.csv", ["clear", "road"])
    names, y = loaders.read_tags_csv(tmp_path / "test.csv", ["clear", "road", "volcano"])
    assert names == ["a", "b"] and y.tolist() == [[1, 1, 0], [1, 0, 1]]
