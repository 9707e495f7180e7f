"""Looking at what a classifier got right and wrong: confusion matrix, random and most (in)correct, top
losses."""

from coursekit import metrics
from coursekit.vision import images


class ClassificationInterpretation:
    """Validation-set predictions of a single-label classifier, with ways to look at them."""

    def __init__(self, probs, targets, losses, dataset, classes):
        self.probs, self.targets, self.losses = probs, targets, losses
        self.preds = probs.argmax(dim=1)
        self.dataset, self.classes = dataset, list(classes)

    @classmethod
    def from_learner(cls, learn, dl=None):
        """Predict the validation set (or ``dl``) once and keep probabilities, targets and losses."""
        dl = learn.dls.valid if dl is None else dl
        probs, targets, losses = learn.get_preds(dl, with_loss=True)
        classes = getattr(dl.dataset, "classes", None) or [str(i) for i in range(probs.shape[1])]
        return cls(probs, targets, losses, dl.dataset, classes)

    @property
    def accuracy(self):
        return (self.preds == self.targets).float().mean().item()

    def confusion_matrix(self):
        """Counts ``cm[actual, predicted]`` as a (n_classes, n_classes) tensor."""
        return metrics.confusion(self.preds, self.targets, len(self.classes))

    def most_confused(self, min_count=1):
        """(actual, predicted, count) for the off-diagonal cells, largest first."""
        cm = self.confusion_matrix()
        pairs = [
            (self.classes[i], self.classes[j], int(cm[i, j]))
            for i in range(len(cm))
            for j in range(len(cm))
            if i != j and cm[i, j] >= min_count
        ]
        return sorted(pairs, key=lambda t: -t[2])

    def plot_confusion_matrix(self, normalize=False, ax=None, cmap="Blues"):
        """The confusion matrix as a heat map with the count (or fraction of the row) in each cell."""
        import matplotlib.pyplot as plt

        cm = self.confusion_matrix().float()
        if normalize:
            cm = cm / cm.sum(dim=1, keepdim=True).clamp(min=1)
        n = len(self.classes)
        ax = ax or plt.subplots(figsize=(max(3, n * 0.8 + 1.5),) * 2)[1]
        ax.imshow(cm, cmap=cmap)
        for i in range(n):
            for j in range(n):
                text = f"{cm[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, text, ha="center", va="center", color="white" if cm[i, j] > cm.max() / 2 else "black")
        ax.set_xticks(range(n), self.classes, rotation=45, ha="right")
        ax.set_yticks(range(n), self.classes)
        ax.set_xlabel("predicted"), ax.set_ylabel("actual")
        ax.set_title(f"confusion matrix (accuracy {self.accuracy:.3f})")
        return ax

    # -- the 2018 lesson-1 views ------------------------------------------------------------------
    def _of_class(self, cls):
        c = self.classes.index(cls) if isinstance(cls, str) else int(cls)
        return c, (self.targets == c).nonzero().flatten()

    def random_by_correct(self, correct, n=4, seed=0):
        """Indices of ``n`` items picked at random (seeded) among the right (``correct=True``) or wrong ones."""
        import torch

        idxs = ((self.preds == self.targets) == correct).nonzero().flatten()
        order = torch.randperm(len(idxs), generator=torch.Generator().manual_seed(seed))
        return idxs[order][:n].tolist()

    def most_correct(self, cls, n=4):
        """Indices of items of class ``cls`` the model is surest are ``cls``."""
        c, idxs = self._of_class(cls)
        return idxs[self.probs[idxs, c].argsort(descending=True)][:n].tolist()

    def most_incorrect(self, cls, n=4):
        """Indices of misclassified items of class ``cls``, the most confidently wrong first."""
        c, idxs = self._of_class(cls)
        idxs = idxs[self.preds[idxs] != c]
        return idxs[self.probs[idxs, c].argsort()][:n].tolist()

    def most_uncertain(self, cls, n=4):
        """Indices of items predicted ``cls`` (or actually ``cls``) whose top probability is lowest."""
        c, _ = self._of_class(cls)
        idxs = ((self.preds == c) | (self.targets == c)).nonzero().flatten()
        return idxs[self.probs[idxs].max(dim=1).values.argsort()][:n].tolist()

    def top_losses(self, k=9):
        """(losses, indices) of the ``k`` items with the largest loss."""
        values, idxs = self.losses.topk(min(k, len(self.losses)))
        return values, idxs.tolist()

    # -- pictures -------------------------------------------------------------------------------------
    def title(self, i):
        """``predicted/actual / loss / probability of the actual class`` for item ``i``."""
        p, t = int(self.preds[i]), int(self.targets[i])
        return (
            f"{self.classes[p]}/{self.classes[t]}\n"
            f"loss {self.losses[i]:.2f}, p({self.classes[t]})={self.probs[i, t]:.2f}"
        )

    def show(self, idxs, suptitle=None, ncols=4):
        """Show the validation images at ``idxs`` titled predicted/actual, loss and probability."""
        if not idxs:
            print(f"{suptitle or 'nothing to show'}: no such items")
            return None
        imgs = [self.dataset[i][0] for i in idxs]
        fig = images.show_images(imgs, [self.title(i) for i in idxs], ncols=min(ncols, len(idxs)))
        if suptitle:
            fig.suptitle(suptitle)
            fig.tight_layout()
        return fig

    def plot_top_losses(self, k=9, ncols=3):
        """The ``k`` worst predictions, with their images."""
        return self.show(self.top_losses(k)[1], "top losses: predicted/actual", ncols=ncols)

    def __repr__(self):
        return (
            f"ClassificationInterpretation({len(self.targets)} items, {len(self.classes)} classes, "
            f"accuracy {self.accuracy:.4f})"
        )
