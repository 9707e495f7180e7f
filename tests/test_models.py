import os
import urllib.error

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit import models
from conftest import need_shared


def test_lite0_loads_the_shipped_imagenet_weights_strictly():
    body_state, fc_state = models.lite0_state_dict()
    # every tensor in the file has a place in our module, and every place gets one
    assert set(body_state) == set(models.lite0_stages().state_dict())
    assert set(fc_state) == {"weight", "bias"}
    net = models.efficientnet_lite0()
    assert models.n_params(net) == 4_652_008
    assert torch.equal(net.fc.weight, fc_state["weight"])


def test_lite0_recognises_real_cats_and_dogs():
    from coursekit import vision
    path = need_shared("pets") / "images"
    files = vision.get_image_files(path)[::30]  # 10 cats (Abyssinian, Bengal), 5 dogs (american_bulldog)
    tfm = vision.valid_tfms(224)
    x = torch.stack([tfm(vision.load_image(f)) for f in files])  # [0, 1]: the model normalises itself
    with torch.no_grad():
        top = models.efficientnet_lite0().eval()(x).argmax(dim=1)
    is_cat = torch.tensor([f.name[0].isupper() for f in files])  # Pets names cat breeds with a capital
    cat_class = (top >= 281) & (top <= 285)  # ImageNet's domestic cats
    dog_class = (top >= 151) & (top <= 268)  # ImageNet's dog breeds
    right = (cat_class & is_cat) | (dog_class & ~is_cat)
    assert right.float().mean() >= 0.8


def test_same_padding_puts_the_extra_pixel_bottom_right():
    # TensorFlow's "same", stride 2, 4x4 input, 3x3 kernel: one pixel of padding in all, after the image
    conv = models.SamePadConv(1, 1, 3, stride=2, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = 1.0  # picks the top-left pixel of each window
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4)
    # windows start at rows/cols 0 and 2 of the unpadded image: no padding before it
    assert conv(x).tolist() == [[[[1.0, 3.0], [9.0, 11.0]]]]


@pytest.mark.parametrize("kernel,size", [(3, 7), (5, 8)])
def test_same_padding_with_stride_1_matches_pytorch(kernel, size):
    ours = models.SamePadConv(2, 3, kernel)
    reference = nn.Conv2d(2, 3, kernel, padding="same")
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(1, 2, size, size)
    assert torch.allclose(ours(x), reference(x), atol=1e-6)


@pytest.mark.parametrize("size", [64, 100, 129])
def test_cnn_output_shape_and_stage_strides_for_any_size(size):
    model = models.cnn_model("efficientnet_lite0", n_out=3, pretrained=False).eval()
    x = torch.rand(2, 3, size, size)
    assert model(x).shape == (2, 3)
    feats = model.body.features(x)
    assert [f.shape[-1] for f in feats] == [-(-size // s) for s in (2, 4, 8, 16, 32)]  # ceil(size / stride)


@pytest.mark.parametrize("arch,channels", [("efficientnet_lite0", [16, 24, 40, 112, 1280]),
                                           ("resnet18", [64, 64, 128, 256, 512])])
def test_body_stages_halve_the_resolution_each_time(arch, channels):
    body = models.create_body(arch, pretrained=False).eval()
    x = body.normalize(torch.rand(1, 3, 96, 96))
    shapes = []
    for stage in models.body_stages(body):
        x = stage(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(c, 96 // s, 96 // s) for c, s in zip(channels, (2, 4, 8, 16, 32))]


@pytest.mark.parametrize("arch", ["efficientnet_lite0", "resnet18"])
def test_layer_groups_cover_every_parameter_once(arch):
    model = models.cnn_model(arch, pretrained=False)
    groups = model.layer_groups()
    assert len(groups) == 3 and groups[-1] is model.head
    ids = [id(p) for g in groups for p in g.parameters()]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))


def test_repr_is_a_summary_and_summary_lists_every_layer():
    model = models.cnn_model(n_out=5, pretrained=False)
    assert "layer groups" in repr(model) and "5 outputs" in repr(model)
    assert "SamePadConv" in model.summary() and "SamePadConv" in repr(model.body)


def test_normalize_applies_the_stats():
    norm = models.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
    assert norm.mean.shape == norm.std.shape == (1, 3, 1, 1)
    assert torch.allclose(norm(torch.full((1, 3, 2, 2), 0.75)), torch.ones(1, 3, 2, 2))


def test_each_body_carries_its_own_normalisation():
    lite = models.create_body("efficientnet_lite0", pretrained=False).normalize
    resnet = models.create_body("resnet18", pretrained=False).normalize
    assert torch.allclose(lite.mean.flatten(), torch.tensor(models.LITE_STATS[0]))
    assert torch.allclose(resnet.std.flatten(), torch.tensor(models.IMAGENET_STATS[1]))


def test_resnet_without_weights_builds_offline():
    model = models.cnn_model("resnet18", n_out=2, pretrained=False).eval()
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 2)


@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """An empty torch hub cache in ``tmp_path`` and a download function that fails as if offline."""
    import torch.hub

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)  # what load_state_dict_from_url calls
    return tmp_path


def test_resnet_weights_offline_give_a_clear_error(offline_hub):
    with pytest.raises(RuntimeError, match="efficientnet_lite0") as info:
        models.resnet_body("resnet34", pretrained=True)
    assert str(offline_hub / "checkpoints") in str(info.value)


def test_resnet_weights_in_the_hub_cache_load_offline(offline_hub):
    import torchvision
    url = torchvision.models.get_model_weights("resnet18").DEFAULT.url
    saved = torchvision.models.resnet18().state_dict()
    (offline_hub / "checkpoints").mkdir()
    torch.save(saved, offline_hub / "checkpoints" / os.path.basename(url))
    body = models.resnet_body("resnet18", pretrained=True)
    assert torch.equal(body.stages[4][0].conv1.weight, saved["layer4.0.conv1.weight"])


def test_unknown_arch_lists_the_known_ones():
    with pytest.raises(ValueError, match="resnet34"):
        models.cnn_model("alexnet")
