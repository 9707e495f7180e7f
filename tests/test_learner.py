import math
import warnings

import pytest
import torch
from torch import nn

from torch.utils.data import TensorDataset

from conftest import TinyNet
from coursekit.callbacks import Callback, KeepBNStats
from coursekit.data import make_loaders
from coursekit.learner import Learner
from coursekit.metrics import accuracy


def test_loss_falls_and_accuracy_rises_on_synthetic_data(synth_learner):
    learn = synth_learner(metrics=[accuracy])
    learn.fit(5, lr=1e-2)
    train_losses = learn.recorder.column("train_loss")
    assert train_losses[-1] < train_losses[0] * 0.7
    assert learn.recorder.last_metrics["accuracy"] > 0.85


def test_seeded_runs_repeat(synth_learner):
    a, b = synth_learner(), synth_learner()
    a.fit_one_cycle(2, 1e-2)
    b.fit_one_cycle(2, 1e-2)
    assert a.recorder.losses == b.recorder.losses


def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_freeze_and_unfreeze_change_the_trainable_parameter_count(synth_learner):
    learn = synth_learner()
    body, head = learn.model.layer_groups()
    bn_params = sum(p.numel() for p in body[1].parameters())
    total = trainable(learn.model)
    learn.freeze()
    assert trainable(learn.model) == sum(p.numel() for p in head.parameters()) + bn_params
    learn.unfreeze()
    assert trainable(learn.model) == total
    learn.train_bn = False
    learn.freeze()
    assert trainable(learn.model) == sum(p.numel() for p in head.parameters())


def test_frozen_groups_do_not_change_during_fit(synth_learner):
    learn = synth_learner(train_bn=False)
    learn.freeze()
    w = learn.model[0][0].weight.clone()
    learn.fit(1)
    assert torch.equal(w, learn.model[0][0].weight)


def test_frozen_batchnorm_keeps_its_statistics_only_without_train_bn(synth_learner):
    for train_bn in (True, False):
        learn = synth_learner(train_bn=train_bn)
        learn.freeze()
        bn = learn.model.layer_groups()[0][1]
        stats = bn.running_mean.clone(), bn.running_var.clone()
        learn.fit(1)
        kept = torch.equal(stats[0], bn.running_mean) and torch.equal(stats[1], bn.running_var)
        assert kept == (not train_bn), f"train_bn={train_bn}: statistics {'kept' if kept else 'changed'}"
    learn.unfreeze()  # unfrozen, its statistics follow the data again
    learn.fit(1)
    assert not torch.equal(stats[0], bn.running_mean)


def test_keep_bn_stats_holds_the_statistics_while_the_weights_train(synth_learner):
    learn = synth_learner()
    learn.unfreeze()
    bn = learn.model.layer_groups()[0][1]
    stats, weight = bn.running_mean.clone(), bn.weight.clone()
    learn.fit(1, lr=1e-2, cbs=[KeepBNStats()])
    assert torch.equal(stats, bn.running_mean) and not torch.equal(weight, bn.weight)
    assert bn.training is False and learn.model.training is False  # validation ran last; train() comes back next fit
    learn.fit(1, lr=1e-2)
    assert not torch.equal(stats, bn.running_mean)


def test_per_group_learning_rates_reach_the_optimizer(synth_learner):
    learn = synth_learner()
    seen = []

    class Spy(Callback):
        def after_step(self, learn):
            seen.append([g["lr"] for g in learn.opt.param_groups])

    learn.fit(1, lr=slice(1e-4, 1e-2), cbs=[Spy()])
    assert seen[0] == pytest.approx([1e-4, 1e-2])
    learn.fit(1, lr=[3e-3, 5e-3], cbs=[Spy()])
    assert seen[-1] == pytest.approx([3e-3, 5e-3])
    assert learn.group_lrs(slice(1e-2)) == pytest.approx([1e-3, 1e-2])
    with pytest.raises(ValueError, match="layer groups"):
        learn.group_lrs([1e-3, 1e-3, 1e-3])


def torch_one_cycle_lrs(n, pct_start):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1e-2)
    ref_sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=n, pct_start=pct_start)
    ref = []
    for _ in range(n):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        ref_sched.step()
    return ref


def test_one_cycle_is_torch_one_cycle_lr_turning_one_step_later(synth_learner):
    # The documented difference (phases.one_cycle_phases): coursekit peaks at step pct_start*n, as fastai, one step
    # after OneCycleLR's pct_start*n - 1. Its n steps are OneCycleLR's first n over n + 1 steps with the peak there.
    learn = synth_learner()
    learn.fit_one_cycle(3, lr_max=1e-2, pct_start=0.3)
    lrs, n = learn.recorder.lrs, len(learn.recorder.lrs)
    assert lrs == pytest.approx(torch_one_cycle_lrs(n + 1, (0.3 * n + 1) / (n + 1))[:n], rel=1e-6)
    torch_lrs = torch_one_cycle_lrs(n, 0.3)
    assert lrs.index(max(lrs)) == torch_lrs.index(max(torch_lrs)) + 1
    assert lrs[0] == pytest.approx(torch_lrs[0]) and torch_lrs[-1] == pytest.approx(4e-8) and lrs[-1] > 1.01 * 4e-8


def test_one_cycle_spreads_differential_rates_over_groups(synth_learner):
    learn = synth_learner()
    learn.fit_one_cycle(1, lr_max=slice(1e-4, 1e-2))
    assert learn.opt.param_groups[0]["lr"] / learn.opt.param_groups[1]["lr"] == pytest.approx(1e-2)


@pytest.mark.parametrize("n_cycles, cycle_len, cycle_mult", [(3, 1, 2), (2, 2, 1)])
def test_sgdr_restarts_at_cycle_boundaries(synth_learner, n_cycles, cycle_len, cycle_mult):
    learn = synth_learner()
    learn.fit_sgdr(n_cycles, lr=1e-2, cycle_len=cycle_len, cycle_mult=cycle_mult)
    per_epoch = len(learn.dls.train)
    lengths = [cycle_len * cycle_mult**i for i in range(n_cycles)]
    assert len(learn.recorder.values) == sum(lengths)
    lrs = learn.recorder.lrs
    restarts = [i for i in range(1, len(lrs)) if lrs[i] > lrs[i - 1]]
    assert restarts == [per_epoch * sum(lengths[:i]) for i in range(1, n_cycles)]
    # the reference: PyTorch's cosine annealing with warm restarts, stepped per batch
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1e-2)
    ref_sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=cycle_len * per_epoch, T_mult=cycle_mult)
    ref = []
    for _ in range(len(lrs)):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        ref_sched.step()
    assert lrs == pytest.approx(ref, rel=1e-6, abs=1e-12)


def test_get_preds_applies_softmax_and_returns_per_item_losses(synth_learner):
    learn = synth_learner()
    preds, targets, losses = learn.get_preds(with_loss=True)
    assert preds.shape == (len(learn.dls.valid_ds), 3)
    assert torch.allclose(preds.sum(dim=1), torch.ones(len(preds)))
    assert losses.shape == targets.shape
    ref = nn.functional.cross_entropy(torch.log(preds), targets, reduction="none")
    assert torch.allclose(losses, ref, atol=1e-5)


def test_predict_one_item(synth_learner):
    learn = synth_learner()
    label, idx, probs = learn.predict(learn.dls.valid_ds[0][0])
    assert label == idx == int(probs.argmax()) and math.isclose(float(probs.sum()), 1, rel_tol=1e-5)


class ScalePreds(Callback):
    """Shapes the model's behaviour after the prediction: what get_preds and predict must honour too."""

    def after_pred(self, learn):
        learn.preds = learn.preds * 0  # every class equally likely


def test_prediction_honours_callbacks_that_change_the_predictions(synth_learner):
    learn = synth_learner(cbs=[ScalePreds()])
    preds, _ = learn.get_preds()
    assert torch.allclose(preds, torch.full_like(preds, 1 / 3))
    _, _, probs = learn.predict(learn.dls.valid_ds[0][0])
    assert torch.allclose(probs, torch.full((3,), 1 / 3))


class PairDataset(torch.utils.data.Dataset):
    """Items with two model inputs, like a table's category codes and numbers; ``encode`` reads a dict."""

    def __init__(self, n=40, classes=None):
        g = torch.Generator().manual_seed(0)
        self.cat, self.cont = torch.randint(0, 5, (n,), generator=g), torch.randn(n, 2, generator=g)
        self.y, self.classes = torch.randn(n, generator=g), classes

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.cat[i], self.cont[i], self.y[i]

    def encode(self, item):
        return torch.tensor(item["cat"]), torch.tensor(item["cont"], dtype=torch.float32)


class PairModel(nn.Module):
    def __init__(self, n_out=1):
        super().__init__()
        self.emb, self.lin, self.head = nn.Embedding(5, 3), nn.Linear(2, 3), nn.Linear(3, n_out)

    def forward(self, cat, cont):  # cat (bs,), cont (bs, 2)
        return self.head(self.emb(cat) + self.lin(cont))


def test_predict_encodes_an_item_with_several_inputs(tmp_path):
    ds = PairDataset()
    dls = make_loaders(ds, ds, bs=8)
    learn = Learner(
        PairModel(), dls, lambda preds, y: nn.functional.mse_loss(preds[:, 0], y), device="cpu", mixed_precision=False
    )  # float32, to compare exactly (a bf16 CPU would default to bf16)
    item = {"cat": 2, "cont": [0.5, -1.0]}
    value, idx, out = learn.predict(item)
    with torch.no_grad():
        ref = learn.model.eval()(torch.tensor([2]), torch.tensor([[0.5, -1.0]]))[0]
    assert isinstance(value, float) and idx is None
    assert value == pytest.approx(ref.item()) and torch.allclose(out, ref)

    ds.classes = ["low", "mid", "high"]  # a classifier on the same inputs names its answer
    learn = Learner(PairModel(n_out=3), dls, nn.CrossEntropyLoss(), device="cpu", mixed_precision=False)
    label, idx, probs = learn.predict(item)
    assert label == ds.classes[idx] and idx == int(probs.argmax()) and probs.sum().item() == pytest.approx(1)


def test_predict_multi_label_gives_the_tags_above_the_threshold():
    ds = TensorDataset(torch.zeros(4, 2), torch.zeros(4, 3))
    ds.classes = ["cloudy", "road", "water"]
    model = nn.Linear(2, 3)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.copy_(torch.logit(torch.tensor([0.7, 0.3, 0.55])))
    learn = Learner(model, make_loaders(ds, ds, bs=2), nn.BCEWithLogitsLoss(), device="cpu", mixed_precision=False)
    tags, idx, probs = learn.predict(torch.zeros(2))
    assert tags == ["cloudy", "water"] and idx.tolist() == [0, 2]
    assert probs.tolist() == pytest.approx([0.7, 0.3, 0.55])
    assert learn.predict(torch.zeros(2), thresh=0.6)[0] == ["cloudy"]


def test_tta_refuses_a_dataset_that_does_not_say_how(synth_learner):
    with pytest.raises(TypeError, match="TensorDataset.*tta_kind"):
        synth_learner().tta()


class ShiftedViews(torch.utils.data.Dataset):
    """Points whose 'training transform' adds one: TTA's views are then known exactly."""

    tta_kind = "augment"

    def __init__(self, x, y, tfms=None):
        self.x, self.y, self.tfms = x, y, tfms

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return (self.tfms(self.x[i]) if self.tfms else self.x[i]), self.y[i]

    def with_tfms(self, tfms):
        return ShiftedViews(self.x, self.y, tfms)


def test_tta_augment_averages_the_plain_and_transformed_views():
    x, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    dls = make_loaders(ShiftedViews(x, y, tfms=lambda v: v + 1), ShiftedViews(x, y), bs=8)
    learn = Learner(nn.Linear(4, 3), dls, nn.CrossEntropyLoss(), device="cpu", mixed_precision=False)
    probs, targets = learn.tta(n=3)
    with torch.no_grad():
        plain, shifted = learn.model(x).softmax(dim=1), learn.model(x + 1).softmax(dim=1)
    assert torch.allclose(probs, (plain + 3 * shifted) / 4, atol=1e-6) and torch.equal(targets, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="mixed precision needs a CUDA GPU; this machine has none")
def test_mixed_precision_trains_and_predicts_on_the_gpu(synth_learner):
    learn = synth_learner(device="cuda", mixed_precision=True)
    learn.fit(4, lr=1e-2)
    train_losses = learn.recorder.column("train_loss")
    assert train_losses[-1] < train_losses[0] * 0.8
    preds, targets = learn.get_preds()
    assert preds.device.type == "cpu" and preds.dtype == torch.float32 and len(preds) == len(targets)
    learn.save("mp")
    other = synth_learner(device="cuda", mixed_precision=True)
    other.load("mp")  # optimizer state loaded while the model is still on the CPU must follow it to the GPU
    other.fit(1)
    assert all(v.device.type == "cuda" for s in other.opt.state.values() for k, v in s.items() if k != "step")


class DtypeSpy(Callback):
    def __init__(self):
        self.dtypes = {}  # training and validation: the dtype of the last predictions of each

    def after_pred(self, learn):
        self.dtype = learn.preds.dtype
        self.dtypes["train" if learn.training else "valid"] = learn.preds.dtype


def test_bf16_autocast_runs_on_the_cpu_and_warns_where_the_cpu_lacks_bf16(synth_learner, monkeypatch):
    import coursekit.precision as precision_module

    for native in (True, False):
        monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: native)
        spy = DtypeSpy()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            learn = synth_learner(device="cpu", mixed_precision="bf16", cbs=[spy])
        assert learn.precision.mode == "bf16" and learn.precision.scaler is None
        assert any("no native bfloat16" in str(w.message) for w in caught) == (not native)
        learn.fit(4, lr=1e-2)
        assert spy.dtype == torch.bfloat16  # the forward pass ran under autocast
        train_losses = learn.recorder.column("train_loss")
        assert train_losses[-1] < train_losses[0] * 0.8
        preds, _ = learn.get_preds()
        assert preds.dtype == torch.float32


def test_fp16_on_the_cpu_warns_and_trains_in_float32(synth_learner):
    with pytest.warns(UserWarning, match="only 'bf16' works"):
        learn = synth_learner(device="cpu", mixed_precision="fp16")
    assert learn.precision.mode is False


LOOP_STATE = ("opt", "fit_call", "epoch", "start_epoch", "n_epochs", "n_iter", "training", "dl", "iter", "batch")


def test_the_loop_state_is_declared_when_the_learner_is_built(synth_learner):
    """Every attribute the loop and its callbacks read exists before the first fit, and a fit, a prediction or an
    lr sweep adds none (to the Learner or to its callbacks): the contract between them is written in __init__."""
    learn = synth_learner(metrics=[accuracy])
    for name in LOOP_STATE + ("xb", "yb", "preds", "loss", "sync_every", "train_bn", "precision", "recorder"):
        assert hasattr(learn, name), name
    assert learn.preds is None and learn.loss is None and learn.fit_call == "fit"
    cbs = [cb for cb in learn.cbs if type(cb).__name__ != "ProgressCallback"]  # a display, replaced separately
    before = {"learner": set(vars(learn))} | {type(cb).__name__: set(vars(cb)) for cb in cbs}
    learn.fit(1)
    learn.get_preds()
    learn.lr_find(num_it=5, show_plot=False)
    after = {"learner": set(vars(learn)) - {"lr_find_result"}} | {type(cb).__name__: set(vars(cb)) for cb in cbs}
    assert {k: after[k] - v for k, v in before.items()} == {k: set() for k in before}


def test_repr_and_training_loop_are_helpful(synth_learner, capsys):
    learn = synth_learner(metrics=[accuracy])
    assert "layer groups" in repr(learn) and "accuracy" in repr(learn)
    learn.show_training_loop()
    assert "Recorder" in capsys.readouterr().out


def test_interrupted_fit_keeps_the_last_weights_and_explains(synth_learner, capsys):
    learn = synth_learner()
    steps = []

    class Interrupt(Callback):
        def after_step(self, learn):
            steps.append({k: v.clone() for k, v in learn.model.state_dict().items()})
            if len(steps) == 3:
                raise KeyboardInterrupt

    before = list(learn.cbs)
    with pytest.raises(KeyboardInterrupt):
        learn.fit(2, cbs=[Interrupt()])
    assert learn.cbs == before
    assert all(torch.equal(v, learn.model.state_dict()[k]) for k, v in steps[-1].items())
    assert "interrupted" in capsys.readouterr().out
    assert any(p.grad is not None for p in learn.model.parameters())  # stopped between step and zero_grad

    class FirstBatchGrads(Callback):
        def before_batch(self, learn):
            if learn.training and learn.iter == 0:
                steps.append([p.grad for p in learn.model.parameters()])

    learn.fit(1, cbs=[FirstBatchGrads()])  # and training carries on from there, with fresh gradients
    assert all(g is None for g in steps[-1])


def with_classes(dls, classes):
    for ds in (dls.train_ds, dls.valid_ds):
        ds.classes = classes
    return dls


@pytest.mark.parametrize("n_out", [5, 2])
def test_a_model_with_the_wrong_number_of_outputs_is_named_at_the_first_batch(synth_learner, n_out):
    dls = with_classes(synth_learner().dls, ["a", "b", "c"])
    learn = Learner(TinyNet(n_out=n_out), dls, nn.CrossEntropyLoss(), device="cpu")
    message = rf"model gives {n_out} outputs per item but the TensorDataset has 3 classes.*n_out=dls.c \(3\)"
    with pytest.raises(ValueError, match=message):  # 5: trains silently on wasted outputs; 2: an index error
        learn.fit(1)
    with pytest.raises(ValueError, match=message):
        learn.predict(dls.valid_ds[0][0])
    ds = TensorDataset(torch.randn(8, 4), torch.zeros(8, 3))
    ds.classes = ["cloudy", "road", "water"]
    multi = Learner(TinyNet(n_out=n_out), make_loaders(ds, ds, bs=4), nn.BCEWithLogitsLoss(), device="cpu")
    with pytest.raises(ValueError, match=rf"{n_out} outputs .* 3 classes; with BCEWithLogitsLoss"):
        multi.get_preds()


def test_auto_precision_is_bf16_on_a_cpu_with_native_bf16_and_float32_elsewhere(synth_learner, monkeypatch):
    import coursekit.precision as precision_module

    for native, expected in ((True, "bf16"), (False, False)):
        monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: native)
        spy = DtypeSpy()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # auto never warns: it only turns on what is fast
            learn = synth_learner(device="cpu", cbs=[spy])
        assert learn.precision.mode == expected
        learn.fit(1)
        low = torch.bfloat16 if native else torch.float32
        assert spy.dtypes == {"train": low, "valid": low}
        assert synth_learner(device="cpu", mixed_precision=False).precision.mode is False  # float32 on request
    assert synth_learner(device="meta").precision.mode is False  # a GPU (any non-CPU device) asks explicitly


class ConvNet(nn.Sequential):
    def __init__(self):
        body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        super().__init__(body, nn.Sequential(nn.Flatten(), nn.Linear(8, 2)))

    def layer_groups(self):
        return [self[0], self[1]]


def test_auto_precision_on_a_bf16_cpu_trains_convolution_weights_in_float32(monkeypatch):
    """Fine-tuning a whole pretrained convolutional network in bf16 cost accuracy and was no faster, so "auto" keeps
    the steps that teach convolutions in float32; validation and a head on a frozen body run in bf16."""
    import coursekit.precision as precision_module

    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: True)
    ds = TensorDataset(torch.rand(16, 3, 8, 8), torch.arange(16) % 2)

    def fit(**kwargs):
        spy = DtypeSpy()
        learn = Learner(ConvNet(), make_loaders(ds, ds, bs=8), nn.CrossEntropyLoss(), device="cpu", cbs=[spy], **kwargs)
        learn.fit(1)
        assert learn.get_preds()[0].dtype == torch.float32  # predictions come back in float32 either way
        return spy.dtypes

    assert fit() == {"train": torch.float32, "valid": torch.bfloat16}
    spy = DtypeSpy()
    learn = Learner(ConvNet(), make_loaders(ds, ds, bs=8), nn.CrossEntropyLoss(), device="cpu", cbs=[spy])
    learn.freeze()  # the convolution is frozen, its BatchNorm still trains: bf16 throughout
    learn.fit(1)
    assert spy.dtypes == {"train": torch.bfloat16, "valid": torch.bfloat16}
    assert fit(mixed_precision="bf16") == {"train": torch.bfloat16, "valid": torch.bfloat16}  # asked for by name
    monkeypatch.setenv("COURSEKIT_MIXED_PRECISION", "bf16")  # or through the environment
    assert fit() == {"train": torch.bfloat16, "valid": torch.bfloat16}


def test_the_environment_sets_what_auto_precision_means(synth_learner, monkeypatch):
    """COURSEKIT_MIXED_PRECISION turns bf16 off (or on) for every Learner left on "auto", as a notebook run needs."""
    import coursekit.precision as precision_module

    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: True)
    for env, expected in (("off", False), ("float32", False), ("bf16", "bf16"), (" BF16 ", "bf16")):
        monkeypatch.setenv("COURSEKIT_MIXED_PRECISION", env)
        assert synth_learner(device="cpu").precision.mode == expected, env
    assert synth_learner(device="cpu", mixed_precision=False).precision.mode is False  # an argument wins
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: False)
    monkeypatch.setenv("COURSEKIT_MIXED_PRECISION", "bf16")
    with pytest.warns(UserWarning, match="no native bfloat16"):  # asked for where it is slow: said so
        assert synth_learner(device="cpu").precision.mode == "bf16"
    monkeypatch.setenv("COURSEKIT_MIXED_PRECISION", "half")
    with pytest.raises(ValueError, match="COURSEKIT_MIXED_PRECISION='half' is not a precision: use 'off'"):
        synth_learner(device="cpu")


def test_a_conv_model_goes_channels_last_on_a_cpu_and_trains_as_it_would_without(tmp_path):
    """On a CPU a model with convolutions is stored channels-last (NHWC, faster in oneDNN), in float32 and bf16
    alike; ``channels_last=False`` leaves it alone; the two train to the same weights; a model without
    convolutions is left alone."""
    from conftest import synthetic_dls
    from torch.utils.data import TensorDataset

    from coursekit.data import make_loaders

    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(96, 3, 8, 8, generator=g), torch.randint(0, 4, (96,), generator=g)

    def make(**kw):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        dls = make_loaders(TensorDataset(x[:64], y[:64]), TensorDataset(x[64:], y[64:]), bs=16, seed=0)
        return Learner(model, dls, nn.CrossEntropyLoss(), device="cpu", path=tmp_path, lr=1e-2, **kw)

    nhwc, plain = make(mixed_precision=False), make(mixed_precision=False, channels_last=False)
    assert nhwc.model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not plain.model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert nhwc.channels_last and "weights converted to channels-last in place" in repr(nhwc)  # said, not hidden
    assert not plain.channels_last and "channels-last" not in repr(plain)
    nhwc.fit(2)
    plain.fit(2)
    for a, b in zip(nhwc.model.parameters(), plain.model.parameters()):
        assert torch.allclose(a, b, atol=1e-5)
    linear = Learner(nn.Linear(4, 2), synthetic_dls(), nn.CrossEntropyLoss(), device="cpu", path=tmp_path)
    assert linear.model.weight.is_contiguous() and not linear.channels_last
