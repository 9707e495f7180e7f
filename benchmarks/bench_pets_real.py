"""The lesson-1 recipe on real photos: ../shared/data/pets (Oxford-IIIT Pets, CC BY-SA 4.0, Parkhi et al. 2012).

450 photos, cats when the file name starts upper-case; a seeded 20% held out. EfficientNet-Lite0 with its
offline ImageNet weights, body frozen (BatchNorm too, so only the head trains: quick on a CPU), one-cycle
training, then TTA. Prints accuracy with and without TTA, and wall time.

    .venv/bin/python benchmarks/bench_pets_real.py [--size 224] [--epochs 2]
"""

import argparse
import sys
import time
from pathlib import Path

from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coursekit import data, metrics  # noqa: E402
from coursekit.vision import images, loaders, models, transforms  # noqa: E402
from coursekit.core import seed_everything  # noqa: E402
from coursekit.data import make_loaders  # noqa: E402
from coursekit.learner import Learner  # noqa: E402


def pets_dls(folder, size=160, bs=32, seed=42):
    """Cat-vs-dog loaders over the pets photos, labels from the file names, a seeded 20% held out."""
    files = images.get_image_files(Path(folder) / "images")
    labels = [0 if f.name[0].isupper() else 1 for f in files]
    train_idx, valid_idx = data.random_split_indices(len(files), 0.2, seed)
    train_tf, valid_tf = transforms.tfms_for("side_on", size)
    pick = lambda idx, tf: loaders.ImageDataset([files[i] for i in idx], [labels[i] for i in idx], ["cat", "dog"], tf)
    return make_loaders(pick(train_idx, train_tf), pick(valid_idx, valid_tf), bs=bs, seed=seed)


def run(folder, size=224, epochs=2, lr=2e-3, seed=42):
    """Train with the lesson-1 recipe; returns a dict of figures."""
    start = time.time()
    seed_everything(seed)
    dls = pets_dls(folder, size, seed=seed)
    learn = Learner(
        models.cnn_model("efficientnet_lite0", n_out=2),
        dls,
        nn.CrossEntropyLoss(),
        metrics=[metrics.accuracy],
        train_bn=False,
    )
    learn.freeze()
    learn.fit_one_cycle(epochs, lr)
    probs, targets = learn.tta(n=4)
    return {
        "n_train": len(dls.train_ds),
        "n_valid": len(dls.valid_ds),
        "accuracy": learn.recorder.last_metrics["accuracy"],
        "accuracy_tta": metrics.accuracy(probs, targets).item(),
        "seconds": time.time() - start,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data", default=None, help="the pets folder (default: $COURSEKIT_SHARED_DATA/pets)")
    args = parser.parse_args()
    from common import shared_data

    folder = Path(args.data) if args.data else shared_data() / "pets"
    if not folder.exists():
        sys.exit(f"skipped: {folder} is absent (set COURSEKIT_SHARED_DATA to the shared/data folder)")
    r = run(folder, args.size, args.epochs)
    print(
        f"pets (Oxford-IIIT Pets, CC BY-SA 4.0, Parkhi et al. 2012): {r['n_train']} train / {r['n_valid']} "
        f"held-out photos at {args.size} px, {args.epochs} epochs, EfficientNet-Lite0 head-only"
    )
    print(f"accuracy {r['accuracy']:.4f}, with TTA {r['accuracy_tta']:.4f}; wall time {r['seconds']:.1f} s")


if __name__ == "__main__":
    main()
