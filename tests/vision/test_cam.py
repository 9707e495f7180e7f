import matplotlib
import torch
from torch import nn

from coursekit.vision import cam
from coursekit.vision.models import Normalize

matplotlib.use("Agg")


class Spotty(nn.Module):
    """A body that passes the red channel through (stride 1) and a CAM-style head: average pool, then a
    linear layer whose class 1 is 'red' and class 0 'not red'."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(Normalize([0, 0, 0], [1, 1, 1]), nn.Conv2d(3, 2, 1, bias=False))
        with torch.no_grad():
            self.body[1].weight.copy_(torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])[:, :, None, None])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2))
        with torch.no_grad():
            self.head[2].weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
            self.head[2].bias.zero_()


def test_the_map_is_brightest_where_the_evidence_for_the_class_is():
    x = torch.zeros(2, 3, 16, 16)
    x[0, 0, 2:6, 10:14] = 1.0  # a red patch top right
    x[1, 0, 10:14, 1:5] = 1.0  # one bottom left
    maps, classes = cam.class_activation_maps(Spotty(), x, classes=[1, 1])
    assert maps.shape == (2, 16, 16) and classes.tolist() == [1, 1]
    assert 0 <= maps.min() and maps.max() <= 1 + 1e-6
    assert maps[0, 2:6, 10:14].mean() > 0.9 and maps[0, 10:14, 1:5].max() < 0.1
    assert maps[1, 10:14, 1:5].mean() > 0.9


def test_default_class_is_the_top_score_and_the_model_mode_is_kept():
    model = Spotty().train()
    x = torch.zeros(1, 3, 8, 8)
    x[0, 0, :4, :4] = 1.0
    _, classes = cam.class_activation_maps(model, x)
    assert classes.tolist() == [1] and model.training


def test_show_cams_draws_one_overlay_per_image():
    x = torch.rand(3, 3, 16, 16)
    fig = cam.show_cams(Spotty(), x, ["plain", "red"], n=3, ncols=3)
    assert sum(len(ax.images) == 2 for ax in fig.axes) == 3
    matplotlib.pyplot.close("all")
