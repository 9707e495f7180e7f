"""Fast style transfer: the notebook's transformation network (its ``defs`` cells) keeps shapes and range, the
perceptual loss is what it says and training lowers it; ``stylize`` checks its input."""

import pytest
import torch
from notebook_defs import load_defs
from torch import nn

from coursekit.vision import fast_style, style

L14 = load_defs("lesson14_enhance")


class TinyFeatures(nn.Module):
    """A stand-in for lesson 13's FeatureNet: two conv layers, their outputs as the feature maps."""

    style_ids, content_id, softmax = [0, 1], 1, False

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.c1, self.c2 = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.requires_grad_(False)

    def forward(self, x):
        a = torch.relu(self.c1(x))
        return [a, torch.relu(self.c2(a))]

    def grams(self, feats):
        return [style.gram_matrix(feats[i]) for i in self.style_ids]


def test_the_network_keeps_the_image_size_and_range():
    net = L14.StyleResnet(width=8, n_res=1)
    for shape in [(2, 3, 32, 32), (1, 3, 30, 42)]:
        y = net(torch.rand(shape))
        assert y.shape == shape and 0 <= y.min() and y.max() <= 1


def test_the_network_starts_as_the_identity_and_learns_only_the_paint():
    torch.manual_seed(0)
    net = L14.StyleResnet(width=8, n_res=1)
    x = torch.rand(2, 3, 16, 16) * 0.9 + 0.05
    torch.testing.assert_close(net(x), x, rtol=0, atol=1e-5)  # the last conv starts at zero: the photo comes back
    with torch.no_grad():
        net.up[-1].bias.fill_(1.0)  # what it paints moves the output away from the photo
    assert (net(x) - x).abs().min() > 0.01


@pytest.mark.parametrize(
    "img, message",
    [
        (torch.rand(3, 3, 3), r"The image is 3x3 pixels, but the network needs at least 5x5 .*Resize it up first"),
        (torch.rand(2, 3, 40, 4), r"The image is 40x4 pixels, but the network needs at least 5x5"),
        (torch.rand(1, 16, 16), r"3 channels; this tensor \(1, 16, 16\) has 1\. .*img\.expand\(3, -1, -1\)"),
        (torch.rand(2, 1, 16, 16), r"3 channels; this tensor \(2, 1, 16, 16\) has 1\. .*img\.expand\(-1, 3, -1, -1\)"),
        (torch.rand(4, 16, 16), r"has 4\. For an RGBA image drop the alpha channel: img\[:3\]"),
        (torch.rand(16, 16, 3), r"has 16\. Is the channel axis first"),
        (torch.rand(16, 16), r"one image \(3, H, W\) or a batch \(B, 3, H, W\); this tensor is \(16, 16\)"),
    ],
)
def test_stylize_checks_the_input_shape_before_the_network(img, message):
    # before: torch's padding or channel error, 17 frames deep in the network
    with pytest.raises(ValueError, match=message):
        fast_style.stylize(L14.StyleResnet(width=8, n_res=1), img)


def test_stylize_names_a_wrong_type_and_takes_the_smallest_size_it_allows():
    net = L14.StyleResnet(width=8, n_res=1)
    with pytest.raises(TypeError, match=r"float image in \[0, 1\]; this one is torch.uint8: pass img.float\(\) / 255"):
        fast_style.stylize(net, torch.zeros(3, 16, 16, dtype=torch.uint8))
    with pytest.raises(TypeError, match="takes a tensor, not a list"):
        fast_style.stylize(net, [[0.5]])
    assert fast_style.stylize(net, torch.rand(3, 5, 5)).shape == (3, 5, 5)  # min_side is what the network needs


def test_stylize_is_one_forward_pass_without_gradients_and_restores_the_mode():
    net = L14.StyleResnet(width=8, n_res=1).train()
    out = fast_style.stylize(net, torch.rand(3, 16, 16))
    assert out.shape == (3, 16, 16) and not out.requires_grad and net.training


def test_the_loss_is_weighted_content_plus_style_and_training_lowers_it(one_thread):
    torch.manual_seed(0)
    feats, style_img = TinyFeatures(), torch.rand(3, 16, 16)
    loss = L14.PerceptualStyleLoss(feats, style_img, size=16, content_weight=2.0, style_weight=5.0)
    x = torch.rand(4, 3, 16, 16)
    c, s = loss.parts(x, x)
    assert c.item() == pytest.approx(0.0) and s.item() > 0  # the input is its own content
    y = torch.rand(4, 3, 16, 16)
    c, s = loss.parts(y, x)
    assert loss(y, x).item() == pytest.approx(2.0 * c.item() + 5.0 * s.item(), rel=1e-5)
    stripes = torch.zeros(3, 16, 16)
    stripes[0, :, ::2] = 1  # red stripes: a style far from the random photos, which the network starts as
    loss = L14.PerceptualStyleLoss(feats, stripes, size=16, content_weight=1.0, style_weight=1e4)
    net = L14.StyleResnet(width=8, n_res=1)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    first = loss(net(x), x).item()
    for _ in range(20):
        opt.zero_grad()
        loss(net(x), x).backward()
        opt.step()
    assert loss(net(x), x).item() < first * 0.7


def test_content_dataset_gives_the_photo_as_input_and_target(sample):
    items = sorted((sample / "train" / "cats").glob("*.jpg"))[:2]
    x, y = fast_style.ContentDataset(items, size=32, train=True)[0]
    assert x.shape == (3, 32, 32) and torch.equal(x, y)
    v = fast_style.ContentDataset(items, size=32).with_train(False)
    assert torch.equal(v[1][0], v[1][0]) and not v.train
