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


def check_path(path, what="data folder"):
    """``Path(path)``, or a clear ``FileNotFoundError`` when it does not exist."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"The {what} {path} does not exist. Check the path, or run the notebook's "
                                "data cell (datasets.get_data) first to download or generate it.")
    return path


def ema(values, beta=0.98):
    """Exponentially weighted moving average with bias correction: the smoothed loss curves plot."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** i))
    return out
