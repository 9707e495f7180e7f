"""Lesson 1's recipe from the command line, on one device or data-parallel on several under torchrun.

    python -m coursekit.vision.train --epochs 2 --unfrozen 2                 # one process (GPU if there is one)
    torchrun --nproc_per_node=4 -m coursekit.vision.train --mode full --size 224 --bs 64

A head on a frozen pretrained body with one-cycle, then the whole network with smaller learning rates for earlier
layer groups, then the validation accuracy (with TTA). Under torchrun each process trains on its share of every
global batch (``coursekit.distributed``); only the first prints and saves the model to ``<path>/models``.
"""

import argparse
import os

from torch import nn

from coursekit import datasets, distributed
from coursekit.core import default_device, seed_everything
from coursekit.learner import Learner
from coursekit.metrics import accuracy
from coursekit.resume import Checkpoints
from coursekit.vision import loaders, models


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="dogscats", help="a registered dataset or an image folder (train/, valid/)")
    parser.add_argument("--mode", default=None, help="sample (offline, generated) or full (the real data)")
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--bs", type=int, default=32, help="batch size per process")
    parser.add_argument("--epochs", type=int, default=2, help="epochs with the body frozen")
    parser.add_argument("--unfrozen", type=int, default=2, help="epochs with the whole network training")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="lesson1", help="the saved model's name; checkpoints are <name>-*")
    parser.add_argument("--resume", action="store_true", help="carry on from the newest checkpoint of --name")
    args = parser.parse_args(argv)

    parallel = "RANK" in os.environ  # torchrun sets it
    device = distributed.setup() if parallel else default_device()
    seed_everything(args.seed)
    path = datasets.get_data(args.data, mode=args.mode)
    dls = loaders.image_dls_from_folder(path, size=args.size, bs=args.bs, tfms="side_on", seed=args.seed)
    learn = Learner(
        models.cnn_model(args.arch, n_out=dls.c), dls, nn.CrossEntropyLoss(), metrics=[accuracy], device=device
    )
    extra = [distributed.DistributedTrainer(seed=args.seed)] if parallel else []
    learn.freeze()
    learn.fit_one_cycle(args.epochs, args.lr, cbs=extra + [Checkpoints(f"{args.name}-head", resume=args.resume)])
    learn.unfreeze()
    learn.fit_one_cycle(
        args.unfrozen,
        slice(args.lr / 100, args.lr / 5),
        cbs=extra + [Checkpoints(f"{args.name}-all", resume=args.resume)],
    )
    saved = learn.save(args.name)
    if distributed.is_main():
        print(
            f"validation accuracy {learn.recorder.last_metrics['accuracy']:.4f}; TTA accuracy "
            f"{float(accuracy(*learn.tta())):.4f}; saved {saved}"
        )
    distributed.cleanup()


if __name__ == "__main__":
    main()
