"""Precomputed activations: the head trains as it would on the frozen body's output, the body runs once per
body, data and transforms, and a change of any of them computes afresh."""

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit.callbacks import Callback
from coursekit.core import seed_everything
from coursekit.data import make_loaders
from coursekit.learner import Learner
from coursekit.precompute import PassThrough, Precompute, features_dataset
from coursekit.tracking import SaveBestModel


class Net(nn.Sequential):
    """A body without BatchNorm or dropout, so training on its stored output is exactly training through it."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32, 2))

    def layer_groups(self):
        return [self.body, self.head]


class Images(torch.utils.data.Dataset):
    """Random 'images' with a transform (a scale, standing in for augmentation) and ``with_tfms``."""

    def __init__(self, x, y, tfms=1.0):
        self.x, self.y, self.tfms = x, y, tfms
        self.items, self.labels = [f"img{i}.png" for i in range(len(x))], y.tolist()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i] * self.tfms, self.y[i]

    def with_tfms(self, tfms):
        new = copy.copy(self)
        new.tfms = tfms
        return new


def make(tmp_path, n=96, train_tfms=1.0):
    seed_everything(0)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(n, 3, 8, 8, generator=g), torch.randint(0, 2, (n,), generator=g)
    dls = make_loaders(Images(x[:64], y[:64], train_tfms), Images(x[64:], y[64:]), bs=16, seed=0)
    learn = Learner(
        Net(), dls, nn.CrossEntropyLoss(), lr=1e-2, path=tmp_path, device="cpu", mixed_precision=False
    )  # exact comparisons (a bf16 CPU would default to bf16)
    learn.freeze()
    return learn


def test_the_head_trains_as_it_would_through_the_frozen_body(tmp_path):
    plain, pre = make(tmp_path), make(tmp_path)
    plain.fit_one_cycle(3)
    pre.fit_one_cycle(3, cbs=Precompute())
    for a, b in zip(plain.model.state_dict().values(), pre.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5)
    losses = [[learn.recorder.last_metrics[c] for c in ("train_loss", "valid_loss")] for learn in (plain, pre)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)
    preds, _ = pre.get_preds()  # the whole model again after the fit: images in, classes out
    assert preds.shape == (32, 2)


def test_the_training_images_go_through_the_validation_transforms(tmp_path):
    augmented = make(tmp_path, train_tfms=3.0)  # the 'augmentation' is not precomputed: activations are of x * 1
    augmented.fit(1, cbs=Precompute())
    plain = make(tmp_path)
    plain.fit(1)
    assert torch.allclose(augmented.model.head[1].weight, plain.model.head[1].weight, atol=1e-5)


def test_a_second_fit_reuses_the_activations_and_a_change_computes_them_afresh(tmp_path):
    learn, pre = make(tmp_path), Precompute()
    learn.fit(1, cbs=pre)
    assert (pre.misses, pre.hits) == (2, 0)  # training and validation sets
    learn.fit(1, cbs=pre)
    assert (pre.misses, pre.hits) == (2, 2)
    other = Precompute()  # another callback keeps its own activations: nothing is shared behind the scenes
    learn.fit(1, cbs=other)
    assert (other.misses, other.hits) == (2, 0) and (pre.misses, pre.hits) == (2, 2)
    with torch.no_grad():
        learn.model.body[0].weight.mul_(1.01)  # other body weights (as after unfreezing and training)
    learn.fit(1, cbs=pre)
    assert pre.misses == 4
    learn.dls.valid.dataset.tfms = 0.5  # other transforms (another image size, say)
    learn.fit(1, cbs=pre)
    assert pre.misses == 6  # the training set is read through the validation transforms: both change
    learn.dls.train.dataset.items[0] = "another.png"  # other data
    learn.fit(1, cbs=pre)
    assert pre.misses == 7 and len(pre.cache) == 4  # the newest four sets are kept


def test_lr_find_sweeps_the_head_on_precomputed_activations(tmp_path):
    """As 2018's ``lr_find`` with ``precompute=True``: the same sweep as through the frozen body, the body run once
    per set, and the weights put back afterwards."""
    plain, pre = make(tmp_path), make(tmp_path)
    before = copy.deepcopy(pre.model.state_dict())
    a = plain.lr_find(num_it=12, show_plot=False)
    precompute = Precompute()
    b = pre.lr_find(num_it=12, show_plot=False, cbs=precompute)
    assert b.lrs == pytest.approx(a.lrs) and b.losses == pytest.approx(a.losses, rel=1e-4)
    assert precompute.misses == 2  # training and validation sets, once each
    for name, value in pre.model.state_dict().items():
        assert torch.equal(value, before[name]), name
    pre.fit(1, cbs=precompute)  # and a fit after it reuses the activations
    assert precompute.hits == 2


def test_an_unfrozen_body_is_refused(tmp_path):
    learn = make(tmp_path)
    learn.unfreeze()
    with pytest.raises(ValueError, match="the body must be frozen.*learn.freeze"):
        learn.fit(1, cbs=Precompute())
    assert learn.model(torch.rand(2, 3, 8, 8)).shape == (2, 2)  # the model is untouched


def test_a_model_without_body_and_head_is_refused(synth_learner):
    with pytest.raises(TypeError, match="a model with a body and a head"):
        synth_learner().fit(1, cbs=Precompute())


def test_the_best_model_saved_during_a_precomputed_fit_is_the_whole_model(tmp_path):
    learn = make(tmp_path)
    body, names = learn.model.body, list(learn.model.state_dict())
    seen = []

    class DuringTheFit(Callback):
        order = 115  # after SaveBestModel has saved this epoch

        def after_epoch(self, learn):
            assert isinstance(learn.model.body, PassThrough)  # the body passes the stored activations through
            assert list(learn.model.state_dict()) == names  # the same names, the body's included
            assert list(torch.load(learn.path / "models" / "best.pth")["model"]) == names
            state = {k: v.clone() for k, v in learn.model.state_dict().items()}
            learn.model.load_state_dict({**state, "body.0.weight": state["body.0.weight"] + 1})
            seen.append(body[0].weight.detach().clone())  # loading during the fit reached the body itself
            learn.model.load_state_dict(state)

    original = body[0].weight.detach().clone()
    learn.fit(3, cbs=[Precompute(), SaveBestModel(), DuringTheFit()])
    assert len(seen) == 3 and torch.equal(seen[0], original + 1)
    assert learn.model.body is body and "forward" not in vars(body)  # the body itself again, with its own forward
    learn.load("best")  # every weight, the body's included
    assert learn.model(torch.rand(2, 3, 8, 8)).shape == (2, 2)


def test_features_dataset_keeps_several_outputs_each_view_and_the_training_mode():
    body = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).train()
    x, y = torch.randn(10, 2), torch.arange(10)
    dl = DataLoader(TensorDataset(x, y), batch_size=4)
    negated = lambda batch: (-batch[0], batch[1])  # noqa: E731  (a second 'view' of every batch)
    ds = features_dataset(body, dl, fn=lambda x: (x, body(x)), views=(None, negated))
    inputs, feats, targets = ds.tensors
    assert torch.equal(inputs, torch.cat([x, -x])) and torch.equal(targets, torch.cat([y, y]))
    with torch.no_grad():
        assert torch.allclose(feats, body.eval()(torch.cat([x, -x])))  # eval mode: the stored BatchNorm statistics
    body.train()
    features_dataset(body, dl)
    assert body.training  # put back as it was


def test_features_of_images_are_computed_channels_last_on_a_cpu_and_stored_in_the_usual_layout():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2)).eval()
    seen = []
    x = torch.rand(6, 3, 12, 12)
    ds = features_dataset(
        conv,
        DataLoader(TensorDataset(x, torch.arange(6)), batch_size=4),
        fn=lambda xb: seen.append(xb.is_contiguous(memory_format=torch.channels_last)) or conv(xb),
    )
    assert seen == [True, True]  # the images reach the model channels-last
    feats = ds.tensors[0]
    assert feats.is_contiguous()  # stored as a plain contiguous tensor
    with torch.no_grad():
        assert torch.allclose(feats, conv(x), atol=1e-5)


def test_the_weights_fingerprint_reads_any_memory_layout():
    """A model stored channels-last (the Learner's default on a CPU) has the fingerprint of its plain copy; 1x1
    convolutions, whose channels-last strides PyTorch still calls contiguous, included."""
    from coursekit.precompute import weights_fingerprint

    plain = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 16, 1), nn.BatchNorm2d(16))
    nhwc = copy.deepcopy(plain).to(memory_format=torch.channels_last)
    assert weights_fingerprint(nhwc) == weights_fingerprint(plain)
    with torch.no_grad():
        nhwc[1].weight[0, 0] += 1
    assert weights_fingerprint(nhwc) != weights_fingerprint(plain)
