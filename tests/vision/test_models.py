import os
import urllib.error

import pytest
import torch

from coursekit.vision import models


@pytest.mark.parametrize("size", [64, 100, 129])
def test_cnn_output_shape_and_stage_strides_for_any_size(size):
    model = models.cnn_model("efficientnet_lite0", n_out=3, pretrained=False).eval()
    x = torch.rand(2, 3, size, size)
    assert model(x).shape == (2, 3)
    feats = model.body.features(x)
    assert [f.shape[-1] for f in feats] == [-(-size // s) for s in (2, 4, 8, 16, 32)]  # ceil(size / stride)


@pytest.mark.parametrize(
    "arch,channels", [("efficientnet_lite0", [16, 24, 40, 112, 1280]), ("resnet18", [64, 64, 128, 256, 512])]
)
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


def test_head_without_hidden_layer_is_one_linear_layer_on_the_pooled_features():
    model = models.cnn_model(n_out=6, pretrained=False, hidden=0).eval()
    linears = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2 * model.body.n_features, 6)]
    assert model(torch.rand(2, 3, 64, 64)).shape == (2, 6)
