"""Bounding boxes: format conversions, checking a box against its image, and drawing boxes with class names.

Formats (names as ``torchvision.ops.box_convert`` spells them): ``xyxy`` (left, top, right, bottom: what
torchvision, VOC XML and this package use inside), ``xywh`` (left, top, width, height: COCO JSON's ``bbox``)
and ``cxcywh`` (centre, width, height: how SSD offsets are written). The 2018 notebook wrote boxes as
``[top, left, bottom, right]`` (``yxyx`` here). Coordinates are pixels with ``(0, 0)`` the top-left corner
of the image and a box ``[x0, y0, x1, y1]`` covering ``x0 <= x < x1`` (so its width is ``x1 - x0``).

Bad boxes (``check_box``): a box that is not 4 numbers, or has zero (or negative) width or height, is a
``ValueError`` naming the annotation; a box that sticks out of its image is clipped to it with a warning
naming the annotation (VOC and COCO files often hold boxes a pixel or two past the edge); a box wholly
outside its image is an error.
"""

import warnings

import torch
from torchvision.ops import box_convert

FORMATS = ("xyxy", "xywh", "cxcywh", "yxyx")


def convert_boxes(boxes, in_fmt, out_fmt):
    """``boxes`` (..., 4) from ``in_fmt`` to ``out_fmt`` (one of ``FORMATS``), as a float tensor."""
    for fmt in (in_fmt, out_fmt):
        if fmt not in FORMATS:
            raise ValueError(f"unknown box format {fmt!r}; known: {', '.join(FORMATS)}")
    b = torch.as_tensor(boxes, dtype=torch.float32)
    if b.shape[-1:] != (4,):
        raise ValueError(f"boxes need 4 numbers each (shape (..., 4)), got shape {tuple(b.shape)}")
    if in_fmt == out_fmt:
        return b.clone()
    if in_fmt == "yxyx":  # a reordering: torchvision has no name for it
        b, in_fmt = b[..., [1, 0, 3, 2]], "xyxy"
    shape = b.shape
    b = box_convert(b.reshape(-1, 4), in_fmt, "xyxy" if out_fmt == "yxyx" else out_fmt).reshape(shape)
    return b[..., [1, 0, 3, 2]] if out_fmt == "yxyx" else b


def coco_to_xyxy(bbox):
    """A COCO ``[x, y, w, h]`` box (or (n, 4) of them) as ``[x0, y0, x1, y1]``."""
    return convert_boxes(bbox, "xywh", "xyxy")


def xyxy_to_coco(boxes):
    """``[x0, y0, x1, y1]`` boxes as COCO ``[x, y, w, h]``."""
    return convert_boxes(boxes, "xyxy", "xywh")


def box_area(boxes):
    """Areas of (n, 4) ``xyxy`` boxes."""
    b = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    return (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)


def check_box(box, width, height, where):
    """One ``xyxy`` box checked against its ``width`` x ``height`` image: returned as a list of 4 floats,
    clipped to the image with a warning when it sticks out. ``where`` names the annotation in messages.

    Zero or negative width or height, a box wholly outside the image, a number that is not finite, or a box
    that is not 4 numbers is a ``ValueError`` naming the annotation.
    """
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: the box {box!r} is not 4 numbers [x0, y0, x1, y1]; fix the annotation or delete it."
        ) from None
    if not all(map(lambda v: v == v and abs(v) != float("inf"), (x0, y0, x1, y1))):
        raise ValueError(f"{where}: the box {[x0, y0, x1, y1]} has a number that is not finite; fix or delete it.")
    if x1 <= x0 or y1 <= y0:
        raise ValueError(
            f"{where}: the box [x0={x0:g}, y0={y0:g}, x1={x1:g}, y1={y1:g}] has zero or negative "
            f"{'width' if x1 <= x0 else 'height'}; an object needs a box with some area. Fix the "
            "annotation or delete it."
        )
    cx0, cy0, cx1, cy1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height))
    if cx1 <= cx0 or cy1 <= cy0:
        raise ValueError(
            f"{where}: the box [{x0:g}, {y0:g}, {x1:g}, {y1:g}] lies wholly outside its "
            f"{width}x{height} image; fix the annotation (or the image size) or delete it."
        )
    if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1):
        warnings.warn(
            f"{where}: the box [{x0:g}, {y0:g}, {x1:g}, {y1:g}] sticks out of its {width}x{height} "
            f"image; clipped to [{cx0:g}, {cy0:g}, {cx1:g}, {cy1:g}].",
            stacklevel=2,
        )
    return [cx0, cy0, cx1, cy1]


def scale_boxes(boxes, width, height):
    """``xyxy`` boxes in pixels of a ``width`` x ``height`` image as fractions of it (0..1), or back with
    ``1 / width, 1 / height``."""
    b = torch.as_tensor(boxes, dtype=torch.float32)
    return b / torch.tensor([width, height, width, height], dtype=torch.float32, device=b.device)


# -- drawing -------------------------------------------------------------------------------------------------
COLOURS = [
    "#e6194b",
    "#3cb44b",
    "#ffe119",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#46f0f0",
    "#f032e6",
    "#bcf60c",
    "#fabebe",
    "#008080",
    "#e6beff",
    "#9a6324",
    "#fffac8",
    "#800000",
    "#aaffc3",
]


def _outlined(artist, width):
    """A black outline round a line or text, so it shows on light and dark images alike."""
    from matplotlib import patheffects

    artist.set_path_effects([patheffects.Stroke(linewidth=width, foreground="black"), patheffects.Normal()])


def draw_box(ax, box, label=None, colour="white", lw=2):
    """One ``xyxy`` box (pixels of the shown image) on a matplotlib axis, with its label above the corner."""
    from matplotlib import patches

    x0, y0, x1, y1 = (float(v) for v in box)
    rect = ax.add_patch(patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, lw=lw))
    _outlined(rect, lw + 2)
    if label:
        text = ax.text(x0, y0, str(label), verticalalignment="top", color=colour, fontsize=9, weight="bold")
        _outlined(text, 2)


def show_boxes(img, boxes, labels=None, classes=None, scores=None, ax=None, fractions=None, title=None, figsize=(4, 4)):
    """An image (PIL, or a CHW tensor in [0, 1]) with its ``xyxy`` boxes and their class names (``labels``
    are indices into ``classes``, or names); ``scores`` are added to the names. Boxes in fractions of the
    image (all coordinates <= 1.5) are scaled to its pixels unless ``fractions=False``. Returns the axis."""
    import matplotlib.pyplot as plt
    from coursekit.vision.images import to_display

    arr = to_display(img)
    h, w = arr.shape[:2]
    b = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    if fractions or (fractions is None and len(b) and float(b.abs().max()) <= 1.5):
        b = scale_boxes(b, 1 / w, 1 / h)
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    ax.imshow(arr)
    ax.axis("off")
    for i, box in enumerate(b):
        lab = None if labels is None else labels[i]
        lab = int(lab) if isinstance(lab, torch.Tensor) else lab
        if lab is not None and isinstance(lab, int) and lab < 0:
            continue  # padding in a batch
        name = classes[lab] if (classes is not None and isinstance(lab, int)) else lab
        if scores is not None:
            name = f"{name} {float(scores[i]):.2f}"
        colour = COLOURS[(lab if isinstance(lab, int) else i) % len(COLOURS)]
        draw_box(ax, box, name, colour)
    if title:
        ax.set_title(title, fontsize=9)
    return ax
