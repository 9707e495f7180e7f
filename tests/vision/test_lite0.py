"""The EfficientNet-Lite0 port: strict loading of the shipped weights, TF "same" padding, real photos."""

import pytest
import torch
from torch import nn

from coursekit.vision import lite0, models
from conftest import need_shared


def test_lite0_loads_the_shipped_imagenet_weights_strictly():
    body_state, fc_state = lite0.lite0_state_dict()
    # every tensor in the file has a place in our module, and every place gets one
    assert set(body_state) == set(lite0.lite0_stages().state_dict())
    assert set(fc_state) == {"weight", "bias"}
    net = models.efficientnet_lite0()
    assert models.n_params(net) == 4_652_008
    assert torch.equal(net.fc.weight, fc_state["weight"])


def test_lite0_recognises_real_cats_and_dogs():
    from coursekit.vision import images, transforms

    path = need_shared("pets") / "images"
    files = images.get_image_files(path)[::30]  # 10 cats (Abyssinian, Bengal), 5 dogs (american_bulldog)
    tfm = transforms.valid_tfms(224)
    x = torch.stack([tfm(images.load_image(f)) for f in files])  # [0, 1]: the model normalises itself
    with torch.no_grad():
        top = models.efficientnet_lite0().eval()(x).argmax(dim=1)
    is_cat = torch.tensor([f.name[0].isupper() for f in files])  # Pets names cat breeds with a capital
    cat_class = (top >= 281) & (top <= 285)  # ImageNet's domestic cats
    dog_class = (top >= 151) & (top <= 268)  # ImageNet's dog breeds
    right = (cat_class & is_cat) | (dog_class & ~is_cat)
    assert right.float().mean() >= 0.8


def test_same_padding_puts_the_extra_pixel_bottom_right():
    # TensorFlow's "same", stride 2, 4x4 input, 3x3 kernel: one pixel of padding in all, after the image
    conv = lite0.SamePadConv(1, 1, 3, stride=2, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = 1.0  # picks the top-left pixel of each window
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4)
    # windows start at rows/cols 0 and 2 of the unpadded image: no padding before it
    assert conv(x).tolist() == [[[[1.0, 3.0], [9.0, 11.0]]]]


@pytest.mark.parametrize("kernel,size", [(3, 7), (5, 8)])
def test_same_padding_with_stride_1_matches_pytorch(kernel, size):
    ours = lite0.SamePadConv(2, 3, kernel)
    reference = nn.Conv2d(2, 3, kernel, padding="same")
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(1, 2, size, size)
    assert torch.allclose(ours(x), reference(x), atol=1e-6)
