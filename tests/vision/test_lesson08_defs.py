"""Lesson 8's code as the notebook writes it (its cells tagged ``defs``): heads, losses, IoU, the model, Grad-CAM.

The references are PyTorch's own losses and ``torchvision.ops.box_iou``; the heads and the model are checked by
what a student relies on (shapes, the box squeezed into 0..1, every layer printed, a box learned from where the
features are), and the class activation maps by where the evidence is.
"""

import matplotlib
import pytest
import torch
import torchvision
from torch import nn
from torch.utils.data import TensorDataset

from coursekit.core import seed_everything
from coursekit.data import make_loaders
from coursekit.learner import Learner
from coursekit.vision.models import Normalize
from notebook_defs import load_defs

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def l8():
    return load_defs("lesson08_pascal")


def random_boxes(n, g):
    corner, side = torch.rand(2, n, 2, generator=g)
    return torch.cat([corner * 0.5, corner * 0.5 + 0.01 + side * 0.5], dim=1)


# -- IoU -------------------------------------------------------------------------------------------------------------
def test_iou_is_the_diagonal_of_torchvision_box_iou(l8):
    g = torch.Generator().manual_seed(0)
    a, b = random_boxes(500, g), random_boxes(500, g)
    theirs = torchvision.ops.box_iou(a, b).diagonal()
    assert (theirs == 0).sum() > 50 and (theirs > 0.3).sum() > 10  # apart, touching and overlapping pairs alike
    torch.testing.assert_close(l8.iou(a, b), theirs)


def test_iou_hand_worked(l8):
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    b = torch.tensor([[1.0, 0.0, 3.0, 2.0], [1.0, 1.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    # half of each square shared: 2 / (4 + 4 - 2); touching at a corner: 0; the same box: 1
    torch.testing.assert_close(l8.iou(a, b), torch.tensor([1 / 3, 0.0, 1.0]))


def test_mean_iou_puts_a_predictions_corners_in_order_and_reads_the_box_columns(l8):
    box = torch.tensor([[0.1, 0.2, 0.5, 0.6], [0.3, 0.3, 0.9, 0.8]])
    swapped = box[:, [2, 3, 0, 1]]  # nothing makes a head give x0 < x1
    preds = torch.cat([swapped, torch.randn(2, 3)], dim=1)  # class scores after the box are not part of it
    assert l8.mean_iou(preds, box).item() == pytest.approx(1.0)
    shifted = torch.cat([box + torch.tensor([0.1, 0, 0.1, 0]), torch.zeros(2, 3)], dim=1)
    expected = torchvision.ops.box_iou(shifted[:, :4], box).diagonal().mean()
    assert l8.mean_iou(shifted, box, torch.zeros(2)).item() == pytest.approx(expected.item())


# -- heads, losses, metrics -------------------------------------------------------------------------------------------
def test_box_head_gives_the_box_in_0_to_1_then_raw_class_scores(l8):
    seed_everything(0)
    head = l8.head_reg4(16, 4, 3).eval()
    out = head(torch.randn(5, 16, 4, 4) * 10)
    assert out.shape == (5, 7)
    assert (out[:, :4] > 0).all() and (out[:, :4] < 1).all()
    raw = head[:-1](torch.randn(5, 16, 4, 4) * 10)  # everything but BoxActivation
    torch.testing.assert_close(head[-1](raw), torch.cat([raw[:, :4].sigmoid(), raw[:, 4:]], dim=1))
    assert (raw[:, 4:].abs() > 1).any()  # class scores are logits, not squeezed
    assert l8.box_head(16, 4).eval()(torch.randn(2, 16, 4, 4)).shape == (2, 4)


def test_the_box_head_keeps_positions_the_classifier_head_pools_them(l8):
    """Moving a feature to another grid cell changes the box head's output, not the pooling classifier's."""
    seed_everything(0)
    x = torch.zeros(1, 8, 4, 4)
    x[0, :, 0, 0] = 1.0
    moved = x.roll(shifts=(2, 2), dims=(2, 3))
    box_head, clf = l8.box_head(8, 4).eval(), l8.classifier_head(8, 3).eval()
    assert not torch.allclose(box_head(x), box_head(moved), atol=1e-4)
    torch.testing.assert_close(clf(x), clf(moved))
    assert clf(x).shape == (1, 3)


def test_detn_loss_is_weighted_l1_of_the_box_plus_cross_entropy_of_the_class(l8):
    g = torch.Generator().manual_seed(1)
    preds, box, label = torch.rand(6, 9, generator=g), torch.rand(6, 4, generator=g), torch.tensor([0, 4, 2, 1, 3, 4])
    expected = 7.0 * nn.L1Loss()(preds[:, :4], box) + nn.CrossEntropyLoss()(preds[:, 4:], label)
    assert l8.detn_loss(preds, box, label, box_weight=7.0).item() == pytest.approx(expected.item(), rel=1e-6)
    default = 10.0 * nn.L1Loss()(preds[:, :4], box) + nn.CrossEntropyLoss()(preds[:, 4:], label)
    assert l8.detn_loss(preds, box, label).item() == pytest.approx(default.item(), rel=1e-6)
    assert l8.box_l1(preds, box, label).item() == pytest.approx(nn.L1Loss()(preds[:, :4], box).item())
    assert l8.clf_loss(preds[:, 4:], box, label).item() == pytest.approx(
        nn.CrossEntropyLoss()(preds[:, 4:], label).item()
    )


def test_accuracies_read_the_class_scores_after_the_box(l8):
    box = torch.zeros(4, 4)
    scores = torch.tensor([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]])
    label = torch.tensor([0, 1, 0, 0])
    preds = torch.cat([torch.tensor([[0.0, 0, 0, 9]] * 4), scores], dim=1)  # box numbers must not count as classes
    assert l8.detn_acc(preds, box, label).item() == pytest.approx(0.75)
    assert l8.clf_acc(scores, box, label).item() == pytest.approx(0.75)


# -- the model ------------------------------------------------------------------------------------------------------
class TinyBody(nn.Module):
    """A body like models.Body (normalize, stages, n_features) at stride 4."""

    def __init__(self):
        super().__init__()
        self.normalize = Normalize([0.5] * 3, [0.25] * 3)
        self.stages = nn.ModuleList([nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 1, 1), nn.Conv2d(4, 4, 1)])
        self.stages.extend([nn.Conv2d(4, 6, 3, 2, 1), nn.Sequential(nn.ReLU())])
        self.n_features = 6

    def forward(self, x):
        x = self.normalize(x)
        for stage in self.stages:
            x = stage(x)
        return x


def test_the_model_prints_every_layer_and_puts_body_and_head_together(l8):
    seed_everything(0)
    body = TinyBody()
    model = l8.LargestObjectModel(body, l8.head_reg4(6, 4, 2))
    text = repr(model)
    for layer in (
        "Normalize",
        "Conv2d(4, 6",
        "Flatten",
        "in_features=1024, out_features=256",
        "out_features=6",
        "BoxActivation",
    ):
        assert layer in text, f"print(model) does not show {layer}:\n{text}"
    x = torch.rand(3, 3, 16, 16)
    model.eval()
    torch.testing.assert_close(model(x), model.head(body(x)))
    groups = model.layer_groups()
    in_groups = {id(p) for g in groups for p in g.parameters()}
    assert len(groups) == 3 and in_groups == {id(p) for p in model.parameters()}
    assert model.class_offset == 4


def test_head_reg4_learns_where_the_object_is_from_where_its_features_are(l8):
    """Features with a spot at the object's grid cell, whose channel says its class: the box-and-class head
    trained with detn_loss finds both, far better than the best single box (what a pooling head could give)."""
    g = torch.Generator().manual_seed(0)
    n, grid, n_classes = 512, 4, 3
    cells, label = torch.randint(0, grid * grid, (n,), generator=g), torch.randint(0, n_classes, (n,), generator=g)
    feats = torch.randn(n, 8, grid, grid, generator=g) * 0.1
    row, col = cells // grid, cells % grid
    feats[torch.arange(n), label, row, col] += 3.0
    box = torch.stack([col, row, col + 1, row + 1], dim=1).float() / grid
    train, valid = (TensorDataset(feats[s], box[s], label[s]) for s in (slice(0, 400), slice(400, None)))
    dls = make_loaders(train, valid, bs=32, seed=0)
    dls.train.n_inp = dls.valid.n_inp = 1
    seed_everything(0)
    learn = Learner(l8.head_reg4(8, grid, n_classes), dls, l8.detn_loss, lr=1e-2, metrics=[l8.mean_iou, l8.detn_acc])
    learn.fit_one_cycle(8, 1e-2)
    one_box = l8.iou(box[:400].mean(0).expand(112, 4), box[400:]).mean().item()
    assert one_box < 0.1 and learn.recorder.last_metrics["mean_iou"] > 0.4
    assert learn.recorder.last_metrics["detn_acc"] > 0.9


def test_feature_dls_keeps_several_training_views_and_one_validation_view(l8):
    x, box, label = torch.rand(10, 3, 8, 8), torch.rand(10, 4), torch.arange(10) % 2
    dls = make_loaders(TensorDataset(x[:6], box[:6], label[:6]), TensorDataset(x[6:], box[6:], label[6:]), bs=4)
    body = nn.Sequential(nn.Conv2d(3, 5, 3, 2, 1), nn.BatchNorm2d(5)).train()
    with torch.no_grad():
        body[1].running_mean.fill_(0.5)
    fdls = l8.feature_dls(body, dls, n_views=3, bs=4, seed=0)
    feats, fbox, flabel = fdls.train_ds.tensors
    assert feats.shape == (18, 5, 4, 4) and len(fdls.valid_ds) == 4
    torch.testing.assert_close(fbox, box[:6].repeat(3, 1))
    assert torch.equal(flabel, label[:6].repeat(3))
    assert body.training  # the body's mode is given back
    torch.testing.assert_close(fdls.valid_ds.tensors[0], body.eval()(x[6:]).detach())  # eval mode: stored statistics
    assert fdls.train.n_inp == 1


# -- class activation maps -----------------------------------------------------------------------------------------
class Spotty(nn.Module):
    """A body that passes the red and green channels through (stride 1) and a CAM-style head: average pool, then a
    linear layer whose class 0 is 'green' and class 1 'red, not green'; with ``extra`` outputs before the classes."""

    def __init__(self, extra=0):
        super().__init__()
        self.body = nn.Sequential(Normalize([0, 0, 0], [1, 1, 1]), nn.Conv2d(3, 2, 1, bias=False))
        with torch.no_grad():
            self.body[1].weight.copy_(torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])[:, :, None, None])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2 + extra))
        with torch.no_grad():
            self.head[2].weight.copy_(torch.tensor([[-9.0, -9.0]] * extra + [[0.0, 1.0], [1.0, -1.0]]))
            self.head[2].bias.zero_()
        for p in self.body.parameters():
            p.requires_grad_(False)  # frozen, as the lesson's pretrained body

    def forward(self, x):
        return self.head(self.body(x))


def test_grad_cam_is_brightest_where_the_evidence_for_the_class_is(l8):
    x = torch.zeros(2, 3, 16, 16)
    x[0, 0, 2:6, 10:14] = 1.0  # a red patch top right
    x[1, 0, 10:14, 1:5] = 1.0  # one bottom left
    x[1, 1, 2:6, 2:6] = 1.0  # and a green one, evidence against it (the map keeps only the positive part)
    model = Spotty()
    maps, classes = l8.grad_cam(model, x, layer=model.body, classes=[1, 1])
    assert maps.shape == (2, 16, 16) and classes.tolist() == [1, 1]
    assert 0 <= maps.min() and maps.max() <= 1 + 1e-6
    assert maps[0, 2:6, 10:14].mean() > 0.9 and maps[0, 10:14, 1:5].max() < 0.1
    assert maps[1, 10:14, 1:5].mean() > 0.9 and maps[1, 2:6, 2:6].max() < 0.1
    green, _ = l8.grad_cam(model, x[1:], layer=model.body, classes=[0])
    assert green[0, 2:6, 2:6].mean() > 0.9 and green[0, 10:14, 1:5].max() < 0.1


def test_grad_cam_skips_the_box_outputs_picks_the_top_class_and_keeps_the_mode(l8):
    model = Spotty(extra=4).train()
    x = torch.zeros(1, 3, 8, 8)
    x[0, 0, :4, :4] = 1.0  # red: class 1, once the 4 box outputs are skipped
    maps, classes = l8.grad_cam(model, x, layer=model.body, class_offset=4)
    assert classes.tolist() == [1] and model.training
    assert maps[0, :4, :4].mean() > 0.9 and maps[0, 4:, 4:].max() < 0.1
    assert not model.body[1]._forward_hooks  # the hook is gone


def test_share_in_box_and_show_cams_with_a_colour_bar(l8):
    maps = torch.zeros(2, 10, 10)
    maps[0, 2:5, 2:5] = 1.0
    maps[1] = 1.0
    box = torch.tensor([[0.2, 0.2, 0.5, 0.5], [0.0, 0.0, 0.5, 1.0]])
    torch.testing.assert_close(l8.share_in_box(maps, box), torch.tensor([1.0, 0.5]))
    fig = l8.show_cams(torch.rand(3, 3, 10, 10), maps[[0, 1, 0]], ["a", "b", "c"], box=box[[0, 1, 0]], ncols=2)
    overlays = [ax for ax in fig.axes if len(ax.images) == 2]
    assert len(overlays) == 3 and all(len(ax.patches) == 1 for ax in overlays)
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    matplotlib.pyplot.close("all")
