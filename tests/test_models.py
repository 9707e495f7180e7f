import urllib.error

import pytest
import torch

from coursekit import models
from conftest import need_shared


def test_lite0_loads_the_shipped_imagenet_weights():
    net = models.efficientnet_lite0()
    assert models.n_params(net) == 4_652_008


def test_lite0_recognises_real_cats_and_dogs():
    from coursekit import vision
    path = need_shared("pets") / "images"
    files = vision.get_image_files(path)[::30]
    tfm = vision.valid_tfms(224)
    x = torch.stack([tfm(vision.load_image(f)) for f in files])
    with torch.no_grad():
        top = models.efficientnet_lite0().eval()(x).argmax(dim=1)
    is_cat = torch.tensor([f.name[0].isupper() for f in files])
    cat_class = (top >= 281) & (top <= 285)  # ImageNet's domestic cats
    dog_class = (top >= 151) & (top <= 268)  # ImageNet's dog breeds
    right = (cat_class & is_cat) | (dog_class & ~is_cat)
    assert right.float().mean() >= 0.9


@pytest.mark.parametrize("size", [64, 100, 129])
def test_cnn_output_shape_and_stage_strides_for_any_size(size):
    model = models.cnn_model("efficientnet_lite0", n_out=3, pretrained=False).eval()
    x = torch.rand(2, 3, size, size)
    assert model(x).shape == (2, 3)
    feats = model.body.features(x)
    assert [f.shape[-1] for f in feats] == [-(-size // s) for s in (2, 4, 8, 16, 32)]


def test_layer_groups_cover_every_parameter_once():
    model = models.cnn_model(pretrained=False)
    ids = [id(p) for g in model.layer_groups() for p in g.parameters()]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    assert "layer groups" in repr(model)


def test_normalize_applies_the_stats():
    norm = models.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
    assert torch.allclose(norm(torch.full((1, 3, 2, 2), 0.75)), torch.ones(1, 3, 2, 2))


def test_resnet_without_weights_builds_offline():
    model = models.cnn_model("resnet18", n_out=2, pretrained=False).eval()
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 2)
    assert [f.shape[1] for f in model.body.features(torch.rand(1, 3, 64, 64))] == [64, 64, 128, 256, 512]


def test_resnet_weights_offline_give_a_clear_error(monkeypatch, tmp_path):
    import torch.hub
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(RuntimeError, match="efficientnet_lite0"):
        models.resnet_body("resnet34", pretrained=True)


def test_unknown_arch_lists_the_known_ones():
    with pytest.raises(ValueError, match="resnet34"):
        models.cnn_model("alexnet")
