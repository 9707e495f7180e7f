"""Style-transfer pieces: Gram matrix by hand, the losses, the hooked feature network, style rescaling; and lesson 13's
own definitions (its ``defs`` cells): the layers it reads, the weights it balances, the measure it is judged by."""

import pytest
import torch
from notebook_defs import load_defs
from torch import nn

from coursekit.hooks import n_forward_hooks
from coursekit.vision import style

L13 = load_defs("lesson13_style")


@pytest.fixture(autouse=True)
def one_thread():
    """One thread: on a loaded 2-core machine, two threads make these small convolutions many times slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def lite0_net():
    torch.manual_seed(0)
    return style.feature_net("efficientnet_lite0", pretrained=False)


def test_gram_matrix_equals_hand_worked_value():
    # channel 0 = [1, 2], channel 1 = [3, 4]: F F^T = [[5, 11], [11, 25]], divided by C*H*W = 4
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (1, 2, 1, 2)
    assert torch.allclose(style.gram_matrix(f), torch.tensor([[[1.25, 2.75], [2.75, 6.25]]]))


def test_gram_matrix_does_not_grow_with_the_picture():
    # normalised by C*H*W: the same texture over four times the area has the same Gram matrix
    f = torch.randn(2, 5, 4, 6)
    assert torch.allclose(style.gram_matrix(f.repeat(1, 1, 2, 2)), style.gram_matrix(f), atol=1e-5)


def test_gram_matrix_is_channels_by_channels_and_symmetric():
    g = style.gram_matrix(torch.randn(3, 4, 5, 7))
    assert g.shape == (3, 4, 4) and torch.allclose(g, g.transpose(1, 2))


def test_gram_matrix_ignores_where_things_are():
    f = torch.randn(2, 5, 4, 6)
    shuffled = f.flatten(2)[..., torch.randperm(24)].reshape(f.shape)
    assert torch.allclose(style.gram_matrix(f), style.gram_matrix(shuffled), atol=1e-6)


def test_softmax_features_average_one_and_smooth_peaks():
    f = torch.zeros(1, 3, 4, 4)
    assert torch.allclose(style.softmax_features(f), torch.ones_like(f))
    f[0, 0, 0, 0] = 50.0  # one huge activation takes (nearly) all the mass, but values stay bounded by C*H*W
    out = style.softmax_features(f)
    assert out.mean().item() == pytest.approx(1.0, rel=1e-5) and out.max() <= f[0].numel()


def test_content_loss_is_zero_for_the_same_features_and_grows_with_difference():
    a = torch.randn(1, 8, 5, 5)
    assert style.content_loss(a, a).item() == 0
    assert style.content_loss(a + 0.1, a) < style.content_loss(a + 1.0, a)
    assert style.content_loss(torch.cat([a, a]), a).item() == 0  # the target broadcasts over a batch


def test_style_loss_weights_layers_and_rejects_mismatched_lists():
    g = [torch.ones(1, 2, 2), torch.zeros(1, 3, 3)]
    t = [torch.zeros(1, 2, 2), torch.zeros(1, 3, 3)]
    assert style.style_loss(g, t).item() == pytest.approx(1.0)
    assert style.style_loss(g, t, weights=[0.5, 2.0]).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="one of each per style layer"):
        style.style_loss(g, t[:1])


def test_feature_net_returns_hooked_maps_and_leaves_no_hooks(lite0_net):
    feats = lite0_net(torch.rand(2, 3, 64, 64))
    assert len(feats) == 5 and lite0_net.content_id in lite0_net.style_ids
    assert [f.shape[-1] for f in feats] == [32, 32, 16, 8, 4]  # strides 2, 2, 4, 8, 16
    assert n_forward_hooks(lite0_net) == 0
    grams = lite0_net.grams(feats)
    assert [g.shape for g in grams] == [(2, f.shape[1], f.shape[1]) for f in feats]


def test_feature_net_stays_frozen_and_in_eval_mode(lite0_net):
    lite0_net.train()
    assert not lite0_net.training and not any(m.training for m in lite0_net.modules())
    assert not any(p.requires_grad for p in lite0_net.parameters())


def test_feature_net_unknown_layer_is_a_clear_error():
    with pytest.raises(ValueError, match="no layer named"):
        style.feature_net("efficientnet_lite0", content_layer="99.nothing", pretrained=False)
    with pytest.raises(ValueError, match="unknown feature network"):
        style.feature_net("alexnet", pretrained=False)


def test_vgg16_layers_are_the_relu_before_each_max_pool():
    from torchvision.models.vgg import cfgs, make_layers  # VGG16-BN's features alone: quick to build

    features = make_layers(cfgs["D"], batch_norm=True)
    for name in style.LAYERS["vgg16"]["style"]:
        i = int(name)
        assert isinstance(features[i], nn.ReLU) and isinstance(features[i + 1], nn.MaxPool2d)


def test_small_style_image_is_rescaled_with_a_warning_naming_it():
    content, small = torch.rand(3, 120, 160), torch.rand(3, 30, 50)
    with pytest.warns(UserWarning, match="starry.jpg.*much smaller"):
        out = style.match_style_size(small, content, "starry.jpg")
    assert out.shape == (3, 120, 200)  # shorter side matched, aspect kept


def test_style_image_of_similar_size_is_resized_quietly(recwarn):
    out = style.match_style_size(torch.rand(3, 100, 100), torch.rand(3, 120, 160))
    assert out.shape == (3, 120, 120) and not recwarn.list


def test_lbfgs_lowers_the_loss_from_noise_and_starts_from_the_content(lite0_net):
    torch.manual_seed(0)
    content, painting = torch.rand(3, 32, 32), torch.rand(3, 48, 48)
    st = style.StyleTransfer(lite0_net, content, painting, tv_weight=0.01)
    c0, s0 = st.losses(st.start_image("noise"))
    img, history = st.run(n_steps=2, start="noise", max_iter=4, every=1)
    assert img.shape == content.shape and 0 <= img.min() and img.max() <= 1
    assert history[-1][1] + 300 * history[-1][2] < c0.item() + 300 * s0.item()
    assert len(st.snapshots) == 3 and n_forward_hooks(lite0_net) == 0
    # Each snapshot is the picture at its step, not the live image (on a CPU .detach().cpu() shares its memory).
    (_, first), (_, second), (_, third) = st.snapshots
    assert not torch.equal(first, second) and not torch.equal(second, third) and torch.equal(third, img)
    assert torch.equal(first, st.start_image("noise"))
    assert torch.equal(st.start_image("content"), content)
    with pytest.raises(ValueError, match="'noise' or 'content'"):
        st.start_image("zeros")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; this machine has none")
def test_a_net_on_the_gpu_takes_cpu_images_and_hands_back_cpu_pictures():
    # Lesson 14: training the fast-style network moves the loss's feature network to the GPU; the L-BFGS
    # comparison that follows passes it photos that are still on the CPU.
    torch.manual_seed(0)
    net = style.feature_net("efficientnet_lite0", pretrained=False).cuda()
    content, painting = torch.rand(3, 32, 32), torch.rand(3, 48, 48)
    st = style.StyleTransfer(net, content, painting)
    c, s = st.losses(content)
    assert c.device.type == "cuda" and c.item() == pytest.approx(0.0, abs=1e-5)
    img, history = st.run(n_steps=1, start="content", max_iter=2, every=1)
    assert img.device.type == "cpu" and all(shot.device.type == "cpu" for _, shot in st.snapshots)
    assert st.start_image("noise").device.type == "cpu" and len(history) == 1


@pytest.fixture(scope="module")
def lesson_net():
    torch.manual_seed(0)
    return L13.lesson_net("efficientnet_lite0", pretrained=False)


def test_lesson13_reads_lite0_early_layers_without_the_softmax(lesson_net):
    assert lesson_net.names == list(L13.LITE0_STYLE) and not lesson_net.softmax
    assert lesson_net.names[lesson_net.content_id] == L13.LITE0_CONTENT
    feats = lesson_net(torch.rand(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [32, 32, 16, 8]  # strides 2, 2, 4, 8
    assert n_forward_hooks(lesson_net) == 0


def test_lesson13_balances_style_against_the_paintings_content_loss(lesson_net):
    torch.manual_seed(1)
    content, painting = torch.rand(3, 32, 32), torch.rand(3, 48, 48)
    st = style.StyleTransfer(lesson_net, content, painting)
    own_style, painting_content = L13.balance_weights(st, balance=30.0, tv_balance=5.0)
    c, s = st.losses(content)
    assert c.item() == pytest.approx(0.0, abs=1e-6) and s.item() == pytest.approx(own_style, rel=1e-5)
    # at the photo, the weighted style term is balance x the painting's content loss
    assert st.style_weight * own_style == pytest.approx(30.0 * painting_content, rel=1e-5)
    assert st.tv_weight == pytest.approx(5.0 * painting_content)
    assert painting_content == pytest.approx(st.losses(st.style[:, :32, :32])[0].item(), rel=1e-5)


def test_lesson13_style_fall_grows_as_the_picture_takes_the_paintings_textures(lesson_net):
    torch.manual_seed(2)
    content, painting = torch.rand(3, 32, 32) * 0.3, torch.rand(3, 64, 32)
    st = style.StyleTransfer(lesson_net, content, painting)
    assert L13.style_fall(st, content, content) == pytest.approx(1.0)
    painted = st.style[:, :32, :]  # a piece of the painting itself
    halfway = 0.5 * (content + painted)
    assert 1 < L13.style_fall(st, content, halfway) < L13.style_fall(st, content, painted)


def test_lesson13_phase_classifier_has_batchnorm_and_two_outputs():
    net = L13.small_cnn(0)
    assert net(torch.rand(4, 3, 24, 24)).shape == (4, 2)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 2
