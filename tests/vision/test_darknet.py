"""Lesson 12's from-scratch classifiers, as the notebook defines them (its ``defs`` cells): the hand-written
BatchNorm against PyTorch's, and Darknet's shape."""

import torch
from notebook_defs import load_defs
from torch import nn

L12 = load_defs("lesson12_darknet")
BatchNorm, Darknet, ResLayer, conv_layer = L12.BatchNorm, L12.Darknet, L12.ResLayer, L12.conv_layer


def test_hand_batchnorm_equals_pytorch_in_training_and_evaluation_with_running_statistics():
    torch.manual_seed(0)
    ours, theirs = BatchNorm(6, momentum=0.1), nn.BatchNorm2d(6, momentum=0.1)
    with torch.no_grad():  # the same (not trivial) learnt scale and shift in both
        ours.weight.copy_(torch.randn(6)), ours.bias.copy_(torch.randn(6))
        theirs.weight.copy_(ours.weight), theirs.bias.copy_(ours.bias)
    for _ in range(4):  # training: batch statistics, and the running ones updated with momentum
        x = torch.randn(8, 6, 5, 7) * 3 + 2
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.running_mean, theirs.running_mean)
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    ours.eval(), theirs.eval()
    x = torch.randn(3, 6, 4, 4)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_hand_batchnorm_gradients_equal_pytorch():
    torch.manual_seed(1)
    ours, theirs = BatchNorm(4), nn.BatchNorm2d(4)
    x1 = torch.randn(5, 4, 3, 3, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    (ours(x1) ** 2 * torch.arange(4.0)[:, None, None]).sum().backward()
    (theirs(x2) ** 2 * torch.arange(4.0)[:, None, None]).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-4, atol=1e-5)


def test_hand_batchnorm_trains_under_bf16_autocast_as_pytorch_does():
    """A conv under CPU bf16 autocast hands BatchNorm bf16 activations; the statistics stay float32 (lesson 12 on a
    CPU with native bf16, where the Learner turns autocast on by itself)."""
    torch.manual_seed(2)
    conv = nn.Conv2d(3, 6, 3, bias=False)
    ours, theirs = BatchNorm(6), nn.BatchNorm2d(6)
    x = torch.randn(4, 3, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = conv(x)
        assert h.dtype == torch.bfloat16
        out, ref = ours(h), theirs(h)
        out.float().sum().backward()
    assert ours.running_mean.dtype == torch.float32 and ours.weight.grad is not None
    torch.testing.assert_close(ours.running_mean, theirs.running_mean)
    torch.testing.assert_close(ours.running_var, theirs.running_var)
    torch.testing.assert_close(out.float(), ref.float(), rtol=2e-2, atol=2e-2)  # bf16 keeps about 3 digits


def test_conv_layer_has_no_bias_before_batchnorm_and_keeps_the_size_with_padding_k_over_2():
    for ks in (1, 3, 5):
        layer = conv_layer(3, 8, ks)
        assert layer[0].bias is None and layer[0].padding == (ks // 2, ks // 2)
        assert isinstance(layer[2], nn.LeakyReLU)
        assert layer(torch.randn(2, 3, 9, 9)).shape == (2, 8, 9, 9)
    assert conv_layer(3, 8, 3, stride=2)(torch.randn(2, 3, 32, 32)).shape == (2, 8, 16, 16)
    assert isinstance(conv_layer(3, 8)[1], BatchNorm)
    assert isinstance(conv_layer(3, 8, norm=nn.BatchNorm2d)[1], nn.BatchNorm2d)


def test_res_layer_goes_down_to_half_the_channels_and_adds_its_input():
    block = ResLayer(16)
    assert block.convs[0][0].kernel_size == (1, 1) and block.convs[0][0].out_channels == 8
    assert block.convs[1][0].kernel_size == (3, 3) and block.convs[1][0].out_channels == 16
    for p in block.parameters():
        nn.init.zeros_(p)
    x = torch.randn(2, 16, 6, 6)
    torch.testing.assert_close(block(x), x)  # zero weights: the block is the identity


def conv_bn_params(ni, nf, ks):
    return ni * nf * ks * ks + 2 * nf  # no conv bias; BatchNorm scale and shift


def test_darknet_output_shape_and_parameter_count():
    model = Darknet((1, 2), n_classes=10, nf=8)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    stem = conv_bn_params(3, 8, 3)
    group1 = conv_bn_params(8, 16, 3) + conv_bn_params(16, 8, 1) + conv_bn_params(8, 16, 3)
    group2 = conv_bn_params(16, 32, 3) + 2 * (conv_bn_params(32, 16, 1) + conv_bn_params(16, 32, 3))
    head = 32 * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == stem + group1 + group2 + head == 18_178
    assert model.width == 32


def darknet_params(num_blocks, nf, n_classes):
    """Darknet's parameter count worked out from its definition."""
    total = conv_bn_params(3, nf, 3)
    for nb in num_blocks:
        total += conv_bn_params(nf, 2 * nf, 3) + nb * (conv_bn_params(2 * nf, nf, 1) + conv_bn_params(nf, 2 * nf, 3))
        nf *= 2
    return total + nf * n_classes + n_classes


def test_the_2018_darknet_ends_at_2x2_on_cifar_and_has_its_parameter_count():
    model = Darknet((1, 2, 4, 6, 3), n_classes=10, nf=32)
    body = nn.Sequential(*list(model)[:-1]).eval()
    assert body(torch.randn(1, 3, 32, 32)).shape == (1, 1024, 2, 2)
    assert sum(p.numel() for p in model.parameters()) == darknet_params((1, 2, 4, 6, 3), 32, 10) == 31_410_922


def test_the_progression_models_give_one_output_per_class():
    x = torch.randn(2, 3, 32, 32)
    models = {
        "fully connected": L12.simple_net(n_classes=7),
        "conv": L12.conv_net(n_classes=7),
        "conv + BatchNorm": L12.conv_bn_net(n_classes=7),
        "residual": L12.res_net(n_classes=7),
        "darknet": Darknet((1, 1), n_classes=7, nf=8),
    }
    for name, model in models.items():
        assert model(x).shape == (2, 7), name
    assert isinstance(models["conv + BatchNorm"][0][1], BatchNorm)  # the lesson's BatchNorm, by hand


def test_print_model_shows_the_layers():
    text = repr(Darknet((1, 1), n_classes=7, nf=8))
    assert text.count("Conv2d") == 1 + 2 * 3 and "ResLayer" in text and "BatchNorm2d" in text and "Linear" in text
