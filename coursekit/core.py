"""Lowest layer: seeding, devices, moving batches around, and small general helpers. Imports nothing from
coursekit."""

import os
import random
from pathlib import Path

import numpy as np
import torch


def seed_everything(seed=42):
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so a run can be repeated."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def default_device():
    """The GPU when there is one, else the CPU (``COURSEKIT_DEVICE`` overrides)."""
    name = os.environ.get("COURSEKIT_DEVICE")
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def cpu_has_bf16():
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16 or AMX), so bf16 autocast is fast on it."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return False


def to_device(x, device):
    """Move a tensor, or a list/tuple/dict of them, to ``device``."""
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, (list, tuple)):
        return type(x)(to_device(o, device) for o in x)
    if isinstance(x, dict):
        return {k: to_device(v, device) for k, v in x.items()}
    return x


def to_cpu(x):
    """Detach and move a tensor (or a collection of them) to the CPU."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu()
    if isinstance(x, (list, tuple)):
        return type(x)(to_cpu(o) for o in x)
    if isinstance(x, dict):
        return {k: to_cpu(v) for k, v in x.items()}
    return x


def listify(x):
    """``None`` -> ``[]``, a single object -> ``[x]``, a sequence -> a list."""
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def check_path(path, what="data folder", kind=None):
    """``Path(path)``, or a clear error when it does not exist (``FileNotFoundError``) or is not the
    ``kind`` expected: ``"folder"`` (``NotADirectoryError`` for a file), ``"file"`` (``IsADirectoryError``
    for a folder), or ``None`` (either)."""
    if kind not in ("folder", "file", None):
        raise ValueError(f"kind must be 'folder', 'file' or None, not {kind!r}")
    path = Path(path)
    if not path.exists():
        blocker = next((p for p in path.parents if p.is_file()), None)  # data.csv/train: a file in the way
        why = f" ({blocker} is a file, not a folder)" if blocker else ""
        raise FileNotFoundError(
            f"The {what} {path} does not exist{why}. Check the path, or run the notebook's "
            "data cell (datasets.get_data) first to download or generate it."
        )
    if kind == "folder" and not path.is_dir():
        raise NotADirectoryError(
            f"The {what} {path} is a file, but a folder is expected here. Pass the folder "
            f"that holds it ({path.parent}?), or, if it is an archive, extract it first."
        )
    if kind == "file" and path.is_dir():
        raise IsADirectoryError(
            f"The {what} {path} is a folder, but a file is expected here. Pass the file "
            "itself (a path ending in its name)."
        )
    return path


def ema(values, beta=0.98):
    """Exponentially weighted moving average with bias correction: the smoothed loss curves plot."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**i))
    return out
