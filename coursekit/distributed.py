"""Data-parallel training on several GPUs (or CPU processes) with PyTorch's DistributedDataParallel.

Launch a script with ``torchrun --nproc_per_node=N script.py``; in it, call ``setup()`` once, build the learner as
usual, and fit with ``DistributedTrainer()`` among the callbacks (``python -m coursekit.vision.train`` does this
for lesson 1's recipe). Each process takes every N-th item of a shuffled training set, so one step sees a global
batch of N times the learner's batch size; the gradients are averaged across processes before each step, so every
process keeps the same weights. Every process validates on the whole validation set (the same metrics in all).
Only the first process (rank 0) shows progress and writes files (``learn.save``, ``Checkpoints``): ``is_main``.

On GPUs the backend is NCCL and process ``i`` uses GPU ``LOCAL_RANK``; on CPUs it is gloo, which is how the tests
check it on a machine without GPUs.
"""

import os

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from coursekit.callbacks import Callback


def is_main():
    """Whether this process is the one that prints and writes files: rank 0, or the only process."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def unwrap(model):
    """The model inside a data-parallel wrapper (whose weights are saved without the wrapper's prefix)."""
    wrappers = (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)
    return model.module if isinstance(model, wrappers) else model


def check_devices(local_world_size, n_gpus):
    """Refuse more processes per machine than GPUs, before a process tries to use a GPU that is not there."""
    if n_gpus and local_world_size > n_gpus:
        raise RuntimeError(
            f"torchrun started {local_world_size} processes on this machine, but it has {n_gpus} "
            f"GPU(s): one process per GPU. Run torchrun --nproc_per_node={n_gpus} (or fewer)."
        )


def setup(backend=None):
    """Join the process group that torchrun describes in the environment; returns this process's device: the
    local GPU with ``nccl`` (the default where there are GPUs), else the CPU with ``gloo``."""
    if "RANK" not in os.environ:
        raise RuntimeError(
            "coursekit.distributed.setup() runs under torchrun, which sets RANK, WORLD_SIZE and "
            "LOCAL_RANK: torchrun --nproc_per_node=2 your_script.py. For one process, leave it out."
        )
    n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    backend = backend or ("nccl" if n_gpus else "gloo")
    if backend == "nccl":  # gloo runs its processes on the CPU, however many GPUs there are
        check_devices(int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"])), n_gpus)
    if not dist.is_initialized():
        dist.init_process_group(backend)
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def cleanup():
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class DistributedTrainer(Callback):
    """Wrap the model in DistributedDataParallel and split the training set across processes for a fit. The
    schedules (``phases.PhaseScheduler``, order 10) count their steps after this has swapped in the process's
    shard, so one-cycle and SGDR run to their end on it."""

    order = -15  # before the device callback moves the model (the wrapper goes with it) and the schedule is counted

    def __init__(self, seed=0):
        self.seed = seed

    def before_fit(self, learn):
        if not dist.is_initialized():
            raise RuntimeError(
                "DistributedTrainer needs the process group: call coursekit.distributed.setup() first, under torchrun."
            )
        world, rank, train = dist.get_world_size(), dist.get_rank(), learn.dls.train
        self.sampler = DistributedSampler(train.dataset, world, rank, shuffle=True, seed=self.seed, drop_last=True)
        self.saved = (learn.model, train)
        learn.dls.train = DataLoader(
            train.dataset,
            train.batch_size,
            sampler=self.sampler,
            drop_last=train.drop_last,
            collate_fn=train.collate_fn,
            num_workers=train.num_workers,
            pin_memory=train.pin_memory,
        )
        model = learn.model.to(learn.device)
        ids = [learn.device.index] if learn.device.type == "cuda" else None
        learn.model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def before_epoch(self, learn):
        self.sampler.set_epoch(learn.epoch)  # another shuffle each epoch, the same in every process

    def after_fit(self, learn):
        learn.model, learn.dls.train = self.saved
