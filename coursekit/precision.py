"""Which precision a Learner computes in: ``mixed_precision`` (``"auto"``, ``"bf16"``, ``"fp16"`` or ``False``)
resolved for a device, and the one exception ``"auto"`` makes on a bf16 CPU. ``Precision`` is the policy a Learner
owns (``learn.precision``): resolved once, when the Learner is built; its one-line ``describe()`` says which
precision runs and why (the Learner's repr and the notebooks' mode line print it).

``"auto"`` (the Learner's default): on a CPU that computes in bf16 natively, bf16 autocast for every pass except
the training steps in which a convolution's weights learn, which stay float32; float32 elsewhere, GPUs included
(ask for ``"bf16"`` or ``"fp16"`` there). ``False`` is float32 throughout, ``"bf16"`` bf16 throughout. The
environment variable ``COURSEKIT_MIXED_PRECISION`` (``off``, ``bf16`` or ``fp16``) replaces what ``"auto"``
chooses, for every Learner of a notebook or test run at once.

Why the exception (``benchmarks/README.md``; EfficientNet-Lite0 at 96 px on the 2-core bf16 CPU): passes without
gradients (validation, predictions, TTA, precomputed activations) ran 1.6x faster in bf16, and a head on a frozen
body trained as well as in float32; but fine-tuning the whole network in bf16 cost 2.1 accuracy points on each of
five seeds, and its training step was slower (338 against 298 ms, both channels-last). Recurrent and linear models
keep bf16 in training: a translation step ran 1.5x faster.
"""

import os
import warnings

import torch
from torch import nn

from coursekit.core import cpu_has_bf16, default_device

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def env_precision():
    """``COURSEKIT_MIXED_PRECISION`` as a precision (``False``, ``"bf16"`` or ``"fp16"``), ``None`` when unset."""
    env = os.environ.get("COURSEKIT_MIXED_PRECISION", "").strip().lower()
    if not env:
        return None
    if env in ("off", "0", "false", "no", "float32", "fp32"):
        return False
    if env in ("bf16", "fp16"):
        return env
    raise ValueError(
        f"COURSEKIT_MIXED_PRECISION={env!r} is not a precision: use 'off' (float32), 'bf16' or 'fp16', or unset it "
        "to let each Learner choose."
    )


def auto_mixed_precision(device):
    """What ``mixed_precision="auto"`` means on ``device``: ``COURSEKIT_MIXED_PRECISION`` when it is set, else
    ``"bf16"`` on a CPU with native bf16 (where the Learner still trains convolution weights in float32) and
    ``False`` (float32) everywhere else."""
    env = env_precision()
    if env is not None:
        return env
    return "bf16" if device.type == "cpu" and cpu_has_bf16() else False


def resolve(mp, device):
    """``(precision, float32 for convolution training)`` for a Learner's ``mixed_precision=mp`` on ``device``: the
    precision is ``False``, ``"bf16"`` or ``"fp16"``, with a warning where what was asked cannot run well there."""
    conv_float32 = False
    if mp == "auto":
        conv_float32 = env_precision() is None  # the machine chose, not a person
        mp = auto_mixed_precision(device)
        conv_float32 = conv_float32 and mp == "bf16"
    if not mp:
        return False, False
    if device.type == "cpu" and mp == "bf16":
        if not cpu_has_bf16():
            warnings.warn(
                "This CPU has no native bfloat16 instructions: bf16 autocast runs, but slower "
                "than float32. Leave mixed_precision off here."
            )
        return "bf16", conv_float32
    if device.type != "cuda":
        warnings.warn(
            f"mixed_precision={mp!r} needs a CUDA GPU (on a CPU only 'bf16' works); training in "
            f"full precision on {device.type}."
        )
        return False, False
    return ("bf16" if mp == "bf16" else "fp16"), False


def trains_convolutions(model):
    """Whether some convolution of ``model`` has weights that learn."""
    return any(isinstance(m, CONV_TYPES) and m.weight.requires_grad for m in model.modules())


class Precision:
    """A Learner's precision policy: what was asked (``mixed_precision``), what it resolved to on ``device``, and
    every precision-dependent step of the loop: the autocast context of a pass, backward (loss scaling under
    fp16), unscaling before gradient clipping, the optimizer step and the scaler's update, and the scaler's state
    for checkpoints. Callbacks talk to ``learn.precision``, never to a GradScaler.

    ``mode`` is ``False`` (float32), ``"bf16"`` or ``"fp16"``; ``float32_for_conv_training`` is "auto"'s exception
    on a bf16 CPU, applied to a fit when ``begin_fit`` finds a convolution whose weights learn."""

    def __init__(self, asked="auto", device="cpu"):
        self.asked, self.device = asked, torch.device(device)
        self.from_env = asked == "auto" and env_precision() is not None
        self.mode, self.float32_for_conv_training = resolve(asked, self.device)
        self.dtype = torch.bfloat16 if self.mode == "bf16" else torch.float16
        self.scaler = torch.amp.GradScaler("cuda") if self.mode == "fp16" else None
        self.float32_training = False  # this fit's training steps run in float32 (set by begin_fit)

    def begin_fit(self, model):
        """Decide, once per fit, whether its training steps keep float32 (convolution weights learn)."""
        self.float32_training = self.float32_for_conv_training and trains_convolutions(model)

    def autocast(self, training):
        """The autocast context for a training (``training=True``) or a validation/prediction pass."""
        enabled = bool(self.mode) and not (training and self.float32_training)
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=enabled)

    def backward(self, loss):
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def unscale(self, opt):
        """Bring the gradients back to their true scale (before clipping them); a no-op without loss scaling."""
        if self.scaler:
            self.scaler.unscale_(opt)

    def step(self, opt):
        """The optimizer step (skipped by the scaler on overflow) and the scaler's update."""
        if self.scaler:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()

    def state_dict(self):
        return {"scaler": self.scaler.state_dict() if self.scaler else None}

    def load_state_dict(self, state):
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])

    def describe(self):
        """One line: which precision runs, and why."""
        if not self.mode:
            why = "asked" if self.asked is False else "COURSEKIT_MIXED_PRECISION" if self.from_env else None
            if why is None and self.asked == "auto":
                why = "auto: this CPU has no native bf16" if self.device.type == "cpu" else "auto"
            elif why is None:  # a mixed precision that cannot run on this device
                why = f"{self.asked!r} cannot run here"
            return f"precision: float32 ({why}; on {self.device.type})"
        kind = f"{self.mode} autocast" + (" with loss scaling" if self.scaler else "")
        if self.float32_for_conv_training:
            why = "auto on a bf16 CPU; float32 for steps that train convolutions"
        elif self.from_env:
            why = f"COURSEKIT_MIXED_PRECISION on {self.device.type}"
        else:
            why = f"asked, on {self.device.type}"
        return f"precision: {kind} ({why})"

    def __repr__(self):
        return self.describe()


def describe_default():
    """What a Learner left on ``mixed_precision="auto"`` computes in on this machine's default device."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Precision("auto", default_device()).describe()
