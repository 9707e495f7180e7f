"""Precomputed activations (the 2018 course's ``precompute=True``): while the body is frozen, compute its output for
every image once and train the head on those, without running the body again each epoch.

``learn.fit_one_cycle(3, 1e-2, cbs=Precompute())`` on a model with a ``body`` and a ``head`` (``forward`` is
``head(body(x))``, as ``vision.models.CNN``): before the fit, the body runs once over the training and validation
sets, the training images through the *validation* transforms (no augmentation: an augmented image is new each
epoch, so its activations cannot be kept), and the fit trains the head on the stored activations, which the body
passes through. The body and the loaders are put back after the fit, so prediction and TTA use the whole model.

``features_dataset`` is the computation underneath, for models that are not a ``body`` and a ``head`` (lesson 8's
augmented views, lesson 9's several feature maps, lesson 14's U-Net encoder): every batch through a frozen
function once, as a ``TensorDataset`` of its outputs and the targets.

Nothing is patched: for the fit, ``model.body`` is a ``PassThrough`` that holds the very same layers (so the
model's ``state_dict`` has the same names and tensors, and saving or loading during the fit, as ``SaveBestModel``
and ``Checkpoints`` do, sees and changes the whole model) but passes its input through; the body is put back
after the fit.

The activations are kept in memory by the callback, keyed by the body's weights, the data and the transforms:
passing the same ``Precompute`` to a later fit (``pre = Precompute()``, then ``cbs=pre`` each time) reuses them,
and a change of any of the three (unfreezing and training the body, other images, other transforms or image
size) computes them afresh. ``hits`` and ``misses`` count the callback's reuses and computations. The body runs
in evaluation mode, so its BatchNorm statistics stay as pretrained, as 2018's frozen layers did and as
``train_bn=False`` keeps them in an ordinary fit; fit without ``Precompute`` for statistics that adapt
(``train_bn=True``), and for augmentation.
"""

import hashlib
from collections import OrderedDict

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit.callbacks import Callback
from coursekit.data import DataLoaders
from coursekit.progress import progress_bar

BN_NAMES = ("BatchNorm",)  # parameters of these may be trainable in a frozen body (train_bn): they are not used here


def weights_fingerprint(module):
    """A digest of a module's weights and buffers: equal exactly when they are."""
    digest = hashlib.sha1()
    for name, value in module.state_dict().items():
        if isinstance(value, torch.Tensor):
            digest.update(name.encode())
            digest.update(
                value.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes()  # logical order, any layout
                if value.dim()
                else str(value.item()).encode()
            )
    return digest.hexdigest()


def data_fingerprint(ds):
    """What identifies a dataset's items and transforms: its items (paths) and labels where it lists them."""
    parts = [type(ds).__name__, str(len(ds)), repr(getattr(ds, "tfms", None))]
    for name in ("items", "labels"):
        if hasattr(ds, name):
            parts.append(repr(list(getattr(ds, name))))
    if not any(hasattr(ds, name) for name in ("items", "labels")):
        parts.append(str(id(ds)))  # nothing to read: this very object
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


def nhwc(x):
    """A batch of images channels-last (NHWC), other tensors as they are: on a CPU, oneDNN's convolutions run faster
    on NHWC input, whatever the weights' layout (``benchmarks/bench_channels_last.py`` measures the Learner's)."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


@torch.no_grad()
def features_dataset(model, dl, fn=None, views=(None,), n_inp=1):
    """``TensorDataset(*fn(*inputs), *targets)`` over every batch of ``dl`` (``fn`` defaults to ``model``, which
    runs in eval mode: BatchNorm with its stored statistics, as at prediction time). ``fn`` may return one
    tensor or a tuple (several feature maps). Each entry of ``views`` is one more pass over ``dl``: ``None``
    takes the batches as they come (with training transforms, a new augmented view each pass), a function
    maps a batch to another (a flip, with its boxes flipped too)."""
    fn = fn or model
    device = next(model.parameters()).device
    to_device = (lambda x: nhwc(x.to(device))) if device.type == "cpu" else (lambda x: x.to(device))
    cols, was_training = [], model.training
    model.eval()
    try:
        for i, view in enumerate(views):
            what = "computing the body's activations" + (f", view {i + 1} of {len(views)}" if len(views) > 1 else "")
            for batch in progress_bar(dl, len(dl), what):
                batch = view(batch) if view else batch
                out = fn(*[to_device(x) for x in batch[:n_inp]])
                outs = out if isinstance(out, tuple) else (out,)
                cols.append([o.cpu().contiguous() for o in outs] + list(batch[n_inp:]))  # stored in the usual layout
    finally:
        model.train(was_training)
    return TensorDataset(*[torch.cat(c) for c in zip(*cols)])


class PassThrough(nn.Module):
    """Stands in for a precomputed ``body`` during a fit: it holds the body's layers, parameters and buffers under
    the same names (the model's ``state_dict`` is unchanged) and returns its input (the stored activations)."""

    def __init__(self, body):
        super().__init__()
        self.body_type = type(body).__name__
        for name, child in body.named_children():
            self.add_module(name, child)
        for name, p in body.named_parameters(recurse=False):
            self.register_parameter(name, p)
        kept = set(body.state_dict(keep_vars=True))  # the persistent buffers' names
        for name, b in body.named_buffers(recurse=False):
            self.register_buffer(name, b, persistent=name in kept)

    def forward(self, x):
        return x

    def extra_repr(self):
        return f"the layers of a {self.body_type}, precomputed: passes its input through"


class Precompute(Callback):
    """Train the head alone on the frozen body's activations, computed once per body, data and transforms and kept
    by this callback (the newest ``cache_size``): pass the same one to later fits to reuse them."""

    order = -20  # before the device callback moves the model: the head is what trains

    def __init__(self, cache_size=4):
        self.cache, self.cache_size = OrderedDict(), cache_size  # key -> (activations, targets), the newest last
        self.hits = self.misses = 0
        self.saved = None  # (model, body, loaders) while a fit runs on the activations

    def before_fit(self, learn):
        model = learn.model
        if not (hasattr(model, "body") and hasattr(model, "head")):
            raise TypeError(
                f"Precompute needs a model with a body and a head (forward = head(body(x))), such as "
                f"vision.models.cnn_model; {type(model).__name__} has no 'body' or 'head'."
            )
        training = [n for n, p in model.body.named_parameters() if p.requires_grad and not self.is_bn(model, n)]
        if training:
            raise ValueError(
                f"Precompute trains the head on the body's activations, so the body must be frozen, "
                f"but {len(training)} of its tensors train ({training[0]}, ...). Call learn.freeze() "
                "first, or fit without Precompute once the body is unfrozen."
            )
        train_ds, valid_ds = learn.dls.train.dataset, learn.dls.valid.dataset
        if not hasattr(train_ds, "with_tfms"):
            raise TypeError(
                f"Precompute computes the training activations through the validation transforms "
                f"(dataset.with_tfms), which {type(train_ds).__name__} does not have."
            )
        plain = train_ds.with_tfms(valid_ds.tfms)
        body = model.body.to(learn.device)
        train = DataLoader(
            TensorDataset(*self.activations(body, plain, learn)),
            learn.dls.train.batch_size,
            shuffle=True,
            drop_last=learn.dls.train.drop_last,
            generator=learn.dls.train.generator,
        )
        valid = DataLoader(TensorDataset(*self.activations(body, valid_ds, learn)), learn.dls.valid.batch_size)
        # The body passes its (precomputed) input through for this fit; the stand-in holds the same layers under
        # the same names, so saving and loading (SaveBestModel, Checkpoints) see the whole model.
        self.saved, learn.dls = (model, body, learn.dls), DataLoaders(train, valid)
        model.body = PassThrough(body)

    def after_fit(self, learn):
        if self.saved is not None:
            model, model.body, learn.dls = self.saved
            self.saved = None

    @staticmethod
    def is_bn(model, name):
        module = model.body.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model.body
        return any(word in type(module).__name__ for word in BN_NAMES)

    def activations(self, body, ds, learn):
        """``(activations, targets)`` of ``ds`` through ``body``, from the cache when nothing has changed."""
        key = (weights_fingerprint(body), data_fingerprint(ds))
        if key in self.cache:
            self.cache.move_to_end(key)
            self.hits += 1
            return self.cache[key]
        self.misses += 1
        dl = DataLoader(ds, learn.dls.valid.batch_size, num_workers=learn.dls.valid.num_workers)
        self.cache[key] = features_dataset(body, dl).tensors
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return self.cache[key]

    def __repr__(self):
        return f"Precompute({len(self.cache)} activation sets kept, {self.hits} reused, {self.misses} computed)"
