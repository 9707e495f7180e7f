"""Shared set-up for the benchmarks: the lesson-1 sample images preloaded as tensors, and timing."""

import os
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from coursekit import datasets  # noqa: E402
from coursekit.vision import loaders  # noqa: E402
from coursekit.data import make_loaders  # noqa: E402


def lesson_defs(notebook):
    """The definition cells (tagged ``defs``) of ``nbs/<notebook>.ipynb`` as a module: benchmarks time the code the
    lesson teaches, not a copy of it."""
    sys.path.insert(0, str(REPO / "tests"))
    from notebook_defs import load_defs

    return load_defs(notebook)


def shared_data():
    return Path(os.environ.get("COURSEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def preload(ds):
    """Decode and transform every item once, so loops compare training, not JPEG decoding."""
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return TensorDataset(torch.stack(xs), torch.as_tensor(ys))


def sample_tensors(size=96, seed=0):
    """The lesson-1 sample (generated offline) at ``size`` px, as in-memory tensor datasets."""
    path = datasets.get_data("dogscats", mode="sample", seed=seed)
    dls = loaders.image_dls_from_folder(path, size=size, bs=32)
    valid = dls.valid_ds
    train = dls.train_ds.with_tfms(valid.tfms)  # deterministic views for a fair comparison
    return preload(train), preload(valid)


def tensor_dls(train_ds, valid_ds, bs=32, seed=0):
    return make_loaders(train_ds, valid_ds, bs=bs, seed=seed)


def sync():
    """Wait for the GPU's queued work, so that a timer measures the work and not only its launch."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def warm_up(device, *fns):
    """On a GPU, run each contender once untimed: cuDNN's autotuning and autocast's first calls would otherwise
    fall on whichever loop runs first (seen on an H100: 15 s for a first fp16 fit, then 1.6 s)."""
    if torch.device(device).type == "cuda":
        for fn in fns:
            fn()
        sync()


def timed(fn, repeats=3):
    """Median wall time of ``fn()`` over ``repeats`` runs, and the last run's return value."""
    times, out = [], None
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, out


def peak_memory_mb(device):
    """Peak GPU memory allocated (CUDA) or the process's peak resident memory (CPU), in MB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
