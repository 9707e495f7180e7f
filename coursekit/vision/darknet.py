"""Image classifiers trained from scratch, as the 2018 course built them up (lessons 7 and 12).

The progression: a fully connected net (``simple_net``), stride-2 convolutions (``conv_net``), the same with
BatchNorm (``conv_bn_net``), with residual blocks (``res_net``), and ``Darknet`` (the YOLOv3 backbone the 2018
``cifar10-darknet`` notebook trained to 94% on CIFAR-10). ``BatchNorm`` is written out by hand so that the
lesson can show what ``nn.BatchNorm2d`` does; the tests check the two agree.
"""

import torch
from torch import nn


class BatchNorm(nn.Module):
    """BatchNorm for (B, C, H, W) by hand: batch statistics in training, running ones in evaluation.

    ``momentum`` follows PyTorch's convention: ``running = (1 - momentum) * running + momentum * batch`` (the
    2018 Darknet used 0.01). The running variance is the unbiased one, the normalisation uses the biased one,
    as ``nn.BatchNorm2d`` does; ``weight`` (scale) and ``bias`` (shift) are learnt.
    """

    def __init__(self, nf, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        # buffers: saved with the model and moved by .to(device), but not trained
        self.register_buffer("running_mean", torch.zeros(nf))
        self.register_buffer("running_var", torch.ones(nf))

    def forward(self, x):
        x = x.float()  # statistics in float32, as nn.BatchNorm2d keeps them, also under bf16/fp16 autocast
        if self.training:
            mean = x.mean(dim=(0, 2, 3))  # (C,): one statistic per channel over batch and pixels
            var = x.var(dim=(0, 2, 3), unbiased=False)
            n = x.numel() / x.shape[1]
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * n / max(n - 1, 1), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        x = (x - mean[:, None, None]) / torch.sqrt(var[:, None, None] + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]

    def extra_repr(self):
        return f"{self.weight.shape[0]}, eps={self.eps}, momentum={self.momentum}"


def norm_layer(nf, norm="torch", momentum=0.1):
    """``nn.BatchNorm2d`` (``norm='torch'``, fast) or the hand-written ``BatchNorm`` (``norm='hand'``)."""
    if norm == "torch":
        return nn.BatchNorm2d(nf, momentum=momentum)
    if norm == "hand":
        return BatchNorm(nf, momentum=momentum)
    raise ValueError(f"norm must be 'torch' (nn.BatchNorm2d) or 'hand' (darknet.BatchNorm), not {norm!r}")


def conv_layer(ni, nf, ks=3, stride=1, norm="torch", bn_mom=0.1, leaky=0.1):
    """Conv (no bias: the BatchNorm's shift replaces it), padding ``ks // 2`` (size kept, or halved at stride
    2), BatchNorm, LeakyReLU. ``norm=None`` gives a plain conv with bias and ReLU (the pre-BatchNorm nets)."""
    if norm is None:
        return nn.Sequential(nn.Conv2d(ni, nf, ks, stride, padding=ks // 2), nn.ReLU(inplace=True))
    return nn.Sequential(
        nn.Conv2d(ni, nf, ks, stride, padding=ks // 2, bias=False),
        norm_layer(nf, norm, bn_mom),
        nn.LeakyReLU(leaky, inplace=True),
    )


class ResLayer(nn.Module):
    """Darknet's residual block: a 1x1 conv down to ``ni // 2`` channels, a 3x3 conv back up to ``ni``, added
    to the input (the 2018 code added in place; here ``x + ...`` keeps autograd simple)."""

    def __init__(self, ni, norm="torch", bn_mom=0.1):
        super().__init__()
        self.convs = nn.Sequential(
            conv_layer(ni, ni // 2, 1, norm=norm, bn_mom=bn_mom), conv_layer(ni // 2, ni, 3, norm=norm, bn_mom=bn_mom)
        )

    def forward(self, x):
        return x + self.convs(x)


def classifier_head(nf, n_classes):
    """Average-pool each channel to one number, then a linear layer: (B, nf, h, w) -> (B, n_classes)."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(nf, n_classes))


class Darknet(nn.Sequential):
    """Darknet with configurable depth (``num_blocks``: residual blocks per group) and width (``nf``: channels
    of the stem, doubled by each group). Each group is a stride-2 conv doubling the channels, then its residual
    blocks; as in 2018 the second group keeps stride 1, so (1, 2, 4, 6, 3) on 32x32 ends at 2x2.
    ``Darknet((1, 2, 4, 6, 3), 10, nf=32)`` is the 2018 ``cifar10-darknet`` model."""

    def __init__(self, num_blocks=(1, 2, 4, 6, 3), n_classes=10, nf=32, norm="torch", bn_mom=0.1):
        layers = [conv_layer(3, nf, 3, norm=norm, bn_mom=bn_mom)]
        for i, nb in enumerate(num_blocks):
            layers.append(
                nn.Sequential(
                    conv_layer(nf, nf * 2, 3, stride=1 if i == 1 else 2, norm=norm, bn_mom=bn_mom),
                    *[ResLayer(nf * 2, norm, bn_mom) for _ in range(nb)],
                )
            )
            nf *= 2
        super().__init__(*layers, classifier_head(nf, n_classes))
        self.num_blocks, self.width = tuple(num_blocks), nf

    def layer_groups(self):
        """[stem and groups, head]."""
        return [nn.Sequential(*list(self)[:-1]), self[-1]]


def simple_net(size=32, n_classes=10, hidden=(40,)):
    """The fully connected baseline: every pixel into linear layers with ReLU (2018 ``SimpleNet``, ~44%)."""
    sizes = [3 * size * size, *hidden]
    layers = [nn.Flatten()]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], n_classes))


def conv_net(channels=(20, 40, 80), n_classes=10, norm=None, res=False, bn_mom=0.1):
    """Stride-2 convolutions of the given widths, then max-pool and a linear layer (2018 ``ConvNet``);
    ``norm='hand'``/``'torch'`` adds BatchNorm (``ConvBnNet``) and ``res`` a residual block after each stride-2
    conv (``Resnet``)."""
    layers, ni = [], 3
    if norm is not None:  # the BatchNorm nets start with a wider 5x5 conv at full resolution, as in 2018
        layers.append(conv_layer(3, channels[0], 5, norm=norm, bn_mom=bn_mom))
        ni = channels[0]
    for nf in channels:
        layers.append(conv_layer(ni, nf, 3, stride=2, norm=norm, bn_mom=bn_mom))
        if res:
            layers.append(ResLayer(nf, norm or "torch", bn_mom))
        ni = nf
    return nn.Sequential(*layers, nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(ni, n_classes))


def conv_bn_net(channels=(20, 40, 80), n_classes=10, norm="hand", bn_mom=0.1):
    """``conv_net`` with BatchNorm after every conv (by hand unless ``norm='torch'``)."""
    return conv_net(channels, n_classes, norm=norm, bn_mom=bn_mom)


def res_net(channels=(20, 40, 80), n_classes=10, norm="torch", bn_mom=0.1):
    """``conv_bn_net`` with a residual block after each stride-2 conv."""
    return conv_net(channels, n_classes, norm=norm, res=True, bn_mom=bn_mom)


PROGRESSION = {
    "fully connected": simple_net,
    "conv": conv_net,
    "conv + BatchNorm": conv_bn_net,
    "residual": res_net,
    "darknet": Darknet,
}
