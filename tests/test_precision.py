"""The precision policy: what each device kind resolves "auto" and each request to, the autocast of each pass, loss
scaling through backward, unscale (for clipping) and step, its state in checkpoints, and the line that says
which precision runs."""

import warnings
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import coursekit.precision as precision_module
from coursekit import datasets
from coursekit.data import make_loaders
from coursekit.learner import Learner
from coursekit.precision import Precision
from coursekit.resume import Checkpoints
from coursekit.text.training import GradientClip

CONV = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


@pytest.fixture
def cpu_bf16(monkeypatch):
    """Say whether this CPU computes in bf16 natively; no COURSEKIT_MIXED_PRECISION from the environment."""
    monkeypatch.delenv("COURSEKIT_MIXED_PRECISION", raising=False)

    def set_native(native):
        monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda: native)

    return set_native


def autocast_dtype(policy, training):
    with policy.autocast(training):
        return (torch.ones(2, 2, device="cpu") @ torch.ones(2, 2, device="cpu")).dtype


def test_a_cpu_without_bf16_runs_auto_in_float32_and_warns_when_bf16_is_asked(cpu_bf16):
    cpu_bf16(False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "auto" never warns
        policy = Precision("auto", "cpu")
    assert policy.mode is False and policy.scaler is None and not policy.float32_for_conv_training
    assert autocast_dtype(policy, True) == autocast_dtype(policy, False) == torch.float32
    assert policy.describe() == "precision: float32 (auto: this CPU has no native bf16; on cpu)"
    with pytest.warns(UserWarning, match="no native bfloat16"):
        asked = Precision("bf16", "cpu")
    assert asked.mode == "bf16" and autocast_dtype(asked, True) == torch.bfloat16
    assert Precision(False, "cpu").describe() == "precision: float32 (asked; on cpu)"
    with pytest.warns(UserWarning, match="only 'bf16' works"):
        assert Precision("fp16", "cpu").mode is False


def test_a_bf16_cpu_runs_auto_in_bf16_except_the_steps_that_train_convolutions(cpu_bf16):
    cpu_bf16(True)
    policy = Precision("auto", "cpu")
    assert policy.mode == "bf16" and policy.scaler is None and policy.float32_for_conv_training
    assert repr(policy) == "precision: bf16 autocast (auto on a bf16 CPU; float32 for steps that train convolutions)"
    policy.begin_fit(CONV)  # a convolution learns: training steps in float32, every other pass in bf16
    assert (autocast_dtype(policy, True), autocast_dtype(policy, False)) == (torch.float32, torch.bfloat16)
    frozen = nn.Sequential(nn.Conv2d(3, 4, 3).requires_grad_(False), nn.Flatten(), nn.LazyLinear(2))
    policy.begin_fit(frozen)
    assert autocast_dtype(policy, True) == torch.bfloat16
    asked = Precision("bf16", "cpu")  # asked for by name: bf16 throughout
    asked.begin_fit(CONV)
    assert autocast_dtype(asked, True) == torch.bfloat16
    assert asked.describe() == "precision: bf16 autocast (asked, on cpu)"


def test_cuda_resolves_auto_to_float32_and_fp16_to_autocast_with_loss_scaling():
    cuda = torch.device("cuda")  # resolution only: nothing runs on a GPU
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GradScaler warns where no CUDA is present
        auto, fp16, bf16 = (Precision(mp, cuda) for mp in ("auto", "fp16", "bf16"))
    assert auto.mode is False and auto.scaler is None and not auto.float32_for_conv_training
    assert auto.describe() == "precision: float32 (auto; on cuda)"
    assert fp16.mode == "fp16" and fp16.dtype == torch.float16 and fp16.scaler is not None
    assert fp16.describe() == "precision: fp16 autocast with loss scaling (asked, on cuda)"
    assert bf16.mode == "bf16" and bf16.scaler is None and not bf16.float32_for_conv_training
    with pytest.warns(UserWarning, match="needs a CUDA GPU"):
        assert Precision("fp16", torch.device("meta")).mode is False


def test_the_environment_replaces_what_auto_chooses_on_every_device(cpu_bf16, monkeypatch):
    cpu_bf16(True)
    monkeypatch.setenv("COURSEKIT_MIXED_PRECISION", "off")
    policy = Precision("auto", "cpu")
    assert policy.mode is False and policy.describe() == "precision: float32 (COURSEKIT_MIXED_PRECISION; on cpu)"
    assert Precision("bf16", "cpu").mode == "bf16"  # an argument wins over the environment
    monkeypatch.setenv("COURSEKIT_MIXED_PRECISION", "bf16")
    policy = Precision("auto", "cpu")  # a person chose bf16: no float32 exception for convolutions
    policy.begin_fit(CONV)
    assert not policy.float32_for_conv_training and autocast_dtype(policy, True) == torch.bfloat16
    assert policy.describe() == "precision: bf16 autocast (COURSEKIT_MIXED_PRECISION on cpu)"
    monkeypatch.setenv("COURSEKIT_MIXED_PRECISION", "fp16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert Precision("auto", torch.device("cuda")).mode == "fp16"


def scaled_policy():
    """A float32 policy with a real loss scaler (on the CPU, so the test runs here): what fp16 does on a GPU."""
    policy = Precision(False, "cpu")
    policy.scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    return policy


def test_backward_scales_the_loss_unscale_restores_the_gradients_and_step_updates_the_scaler():
    torch.manual_seed(0)
    model, x = nn.Linear(3, 1), torch.randn(4, 3)
    model(x).sum().backward()
    plain = model.weight.grad.clone()
    model.zero_grad()
    policy, opt = scaled_policy(), torch.optim.SGD(model.parameters(), lr=0.1)
    policy.backward(model(x).sum())
    assert torch.allclose(model.weight.grad, plain * 1024)
    policy.unscale(opt)
    assert torch.allclose(model.weight.grad, plain)
    before = model.weight.detach().clone()
    policy.step(opt)
    assert torch.allclose(model.weight, before - 0.1 * plain)
    model.zero_grad()
    policy.backward(model(x).sum() * float("inf"))  # an overflow: the step is skipped and the scale halves
    policy.step(opt)
    assert policy.state_dict()["scaler"]["scale"] == 512.0
    other = scaled_policy()
    other.load_state_dict(policy.state_dict())
    assert other.scaler.get_scale() == 512.0


def test_gradient_clip_clips_the_true_gradients_through_the_policy():
    torch.manual_seed(0)
    model, x = nn.Linear(4, 3), torch.randn(8, 4)
    model(x).pow(2).sum().backward()
    true_norm = torch.norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    model.zero_grad()
    learn = SimpleNamespace(model=model, opt=torch.optim.SGD(model.parameters(), lr=0.1), precision=scaled_policy())
    learn.precision.backward(model(x).pow(2).sum())
    clip = GradientClip(0.5)
    clip.after_backward(learn)
    norm = torch.norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert clip.last_norm == pytest.approx(float(true_norm), rel=1e-4)  # measured unscaled, not 1024 times it
    assert norm == pytest.approx(0.5, rel=1e-4)


def test_checkpoints_keep_the_loss_scale_and_the_learner_shows_its_precision(tmp_path, cpu_bf16):
    cpu_bf16(False)
    ds = TensorDataset(torch.randn(16, 4), torch.arange(16) % 2)
    make = lambda: Learner(nn.Linear(4, 2), make_loaders(ds, ds, bs=8), nn.CrossEntropyLoss(), path=tmp_path)  # noqa: E731
    learn = make()
    assert "precision: float32 (auto: this CPU has no native bf16; on cpu)" in repr(learn)
    learn.precision.scaler = torch.amp.GradScaler("cpu", init_scale=256.0)
    learn.fit(1, cbs=[Checkpoints("run")])
    scale = learn.precision.scaler.get_scale()
    again = make()
    again.precision.scaler = torch.amp.GradScaler("cpu", init_scale=2.0)
    again.fit(1, cbs=[Checkpoints("run", resume=True)])
    assert again.precision.scaler.get_scale() == scale


def test_the_mode_line_says_which_precision_auto_runs_in(cpu_bf16, monkeypatch):
    cpu_bf16(True)
    monkeypatch.setattr(precision_module, "default_device", lambda: torch.device("cpu"))
    lines = datasets.describe_mode("sample").splitlines()
    assert lines[0].startswith("data mode: sample")
    assert lines[1] == "precision: bf16 autocast (auto on a bf16 CPU; float32 for steps that train convolutions)"
