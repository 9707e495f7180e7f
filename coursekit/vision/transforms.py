"""Transform presets for image classification: augmentation for training, resize and crop for validation.

Every preset ends with a float32 CHW tensor in [0, 1]; each pretrained model normalises its own input.
"""

import torch
from torchvision.transforms import v2 as T


def to_float_image():
    """The last two steps of every preset: a PIL image to a float32 CHW tensor in [0, 1]."""
    return [T.ToImage(), T.ToDtype(torch.float32, scale=True)]


def train_tfms(size, kind="side_on", max_zoom=1.1, max_rotate=10, max_lighting=0.2):
    """Augmentation for training: random crop/zoom, flips, small rotation, lighting.

    ``side_on`` (photos of things on the ground: left-right flips only) or ``top_down`` (satellite and
    microscope images: every flip and 90-degree rotation).
    """
    if kind not in ("side_on", "top_down"):
        raise ValueError(f"kind must be 'side_on' or 'top_down', not {kind!r}")
    tfms = [
        T.RandomResizedCrop(size, scale=(1 / max_zoom**2 * 0.75, 1.0), ratio=(3 / 4, 4 / 3), antialias=True),
        T.RandomHorizontalFlip(),
    ]
    if kind == "top_down":
        tfms += [T.RandomVerticalFlip(), T.RandomChoice([T.RandomRotation((a, a)) for a in (0, 90, 180, 270)])]
    if max_rotate:
        tfms.append(T.RandomRotation(max_rotate))
    if max_lighting:
        tfms.append(T.ColorJitter(brightness=max_lighting, contrast=max_lighting))
    return T.Compose(tfms + to_float_image())


def valid_tfms(size):
    """For validation: resize the short side to ``size`` and take the centre square."""
    return T.Compose([T.Resize(size, antialias=True), T.CenterCrop(size)] + to_float_image())


def tfms_for(kind, size):
    """(train, valid) transforms: ``kind`` is 'side_on', 'top_down', None (no augmentation), or a ready
    (train, valid) pair of transforms, returned as it is."""
    if isinstance(kind, (tuple, list)):
        return tuple(kind)
    return (valid_tfms(size) if kind is None else train_tfms(size, kind)), valid_tfms(size)


def describe_tfms(tfms):
    """A one-line summary of a transform pipeline, for reprs."""
    steps = getattr(tfms, "transforms", [tfms])
    return " -> ".join(type(t).__name__ for t in steps)
