"""Class activation maps: where in the image a classifier finds the evidence for a class, drawn over the image.

The map weighs each channel of the body's last feature map (stride 32) by how much the class score rises
with it (the mean gradient of the score over the map: Grad-CAM, Selvaraju et al. 2017), sums the channels and
keeps the positive part. For a head that average-pools and then applies one linear layer, those weights are
that layer's weights for the class, so this is the original CAM (Zhou et al. 2016); it also works for any
other head, such as the 2018 head or lesson 8's box-and-class head. The model needs ``body`` and ``head``.
"""

import torch
import torch.nn.functional as F


def class_activation_maps(model, x, classes=None, class_offset=None):
    """(B, H, W) maps in [0, 1] for a batch of images ``x`` (B, 3, H, W) and a class per image (``classes``:
    (B,) indices; default each image's top-scoring class). The class scores start at output column
    ``class_offset`` (default ``model.class_offset``, else 0). Returns ``(maps, classes)`` on the CPU, wherever
    the model is (the images go to the model's device)."""
    if not (hasattr(model, "body") and hasattr(model, "head")):
        raise TypeError(
            f"class_activation_maps needs a model with a body and a head; {type(model).__name__} has not both."
        )
    offset = getattr(model, "class_offset", 0) if class_offset is None else class_offset
    was_training = model.training
    model.eval()  # BatchNorm and dropout as at prediction time
    try:
        with torch.enable_grad():
            device = next(model.body.parameters()).device
            feats = model.body(x.to(device)).detach().requires_grad_(True)  # (B, C, g, g)
            scores = model.head(feats)[:, offset:]
            if scores.shape[1] == 0:
                raise ValueError("the model has no class scores (a box regressor alone): CAM needs a classifier.")
            if classes is None:
                classes = scores.argmax(dim=1)
            classes = torch.as_tensor(classes, device=scores.device).reshape(-1)
            chosen = scores.gather(1, classes[:, None]).sum()
            (grads,) = torch.autograd.grad(chosen, feats)
    finally:
        model.train(was_training)
    weights = grads.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1): how much each channel counts
    cam = F.relu((weights * feats.detach()).sum(dim=1, keepdim=True))  # (B, 1, g, g)
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    top = cam.flatten(1).max(dim=1).values.clamp(min=1e-8)[:, None, None]
    return (cam / top).cpu(), classes.cpu()


def show_cam(img, cam, ax=None, alpha=0.5, cmap="magma", title=None):
    """``img`` (a CHW tensor in [0, 1] or PIL image) with its activation map ``cam`` (H, W) over it."""
    import matplotlib.pyplot as plt
    from coursekit.vision.images import to_display

    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    arr = to_display(img)
    ax.imshow(arr)
    ax.imshow(
        torch.as_tensor(cam).detach().cpu().numpy(),
        alpha=alpha,
        cmap=cmap,
        extent=(0, arr.shape[1], arr.shape[0], 0),
        interpolation="bilinear",
    )
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def show_cams(model, x, class_names, n=8, ncols=4, classes=None, size=2.5):
    """CAM overlays for the first ``n`` images of ``x``, titled with the class each map is for."""
    import matplotlib.pyplot as plt

    x = x[:n]
    maps, chosen = class_activation_maps(model, x, classes)
    ncols = min(ncols, len(x))
    nrows = (len(x) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, ax in zip(range(len(x)), axes.flat):
        show_cam(x[k].cpu(), maps[k].cpu(), ax=ax, title=str(class_names[int(chosen[k])]))
    fig.tight_layout()
    return fig
