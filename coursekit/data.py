"""The DataLoaders pair every Learner trains on, and seeded loader construction."""
import random

import torch
from torch.utils.data import DataLoader


class DataLoaders:
    """A training and a validation ``DataLoader`` (and an optional test one) that belong together."""

    def __init__(self, train, valid, test=None):
        self.train, self.valid, self.test = train, valid, test

    @property
    def train_ds(self):
        return self.train.dataset

    @property
    def valid_ds(self):
        return self.valid.dataset

    @property
    def classes(self):
        """The class names of the training set, when it has them."""
        return getattr(self.train_ds, "classes", None)

    @property
    def c(self):
        """How many outputs the model needs: the number of classes, when known."""
        return len(self.classes) if self.classes is not None else None

    @property
    def bs(self):
        return self.train.batch_size

    def __repr__(self):
        parts = [f"train: {len(self.train_ds)} items", f"valid: {len(self.valid_ds)} items"]
        if self.test is not None:
            parts.append(f"test: {len(self.test.dataset)} items")
        if self.classes is not None:
            shown = ", ".join(map(str, self.classes[:10])) + (", ..." if len(self.classes) > 10 else "")
            parts.append(f"classes ({len(self.classes)}): {shown}")
        return f"DataLoaders(bs={self.bs}; " + "; ".join(parts) + ")"


def make_loaders(train_ds, valid_ds, bs=64, test_ds=None, num_workers=0, seed=None, collate_fn=None):
    """Build ``DataLoaders`` from datasets: the training loader shuffles (seeded), the others do not."""
    gen = torch.Generator()
    gen.manual_seed(torch.initial_seed() if seed is None else seed)
    common = dict(num_workers=num_workers, collate_fn=collate_fn, pin_memory=torch.cuda.is_available(),
                  persistent_workers=num_workers > 0)
    train = DataLoader(train_ds, bs, shuffle=True, drop_last=len(train_ds) > bs, generator=gen, **common)
    valid = DataLoader(valid_ds, bs * 2, shuffle=False, **common)
    test = DataLoader(test_ds, bs * 2, shuffle=False, **common) if test_ds is not None else None
    return DataLoaders(train, valid, test)


def random_split_indices(n, valid_pct=0.2, seed=42):
    """(train, valid) index lists, a seeded random ``valid_pct`` of ``n`` in valid."""
    idxs = list(range(n))
    random.Random(seed).shuffle(idxs)
    cut = int(round(n * valid_pct))
    return sorted(idxs[cut:]), sorted(idxs[:cut])
