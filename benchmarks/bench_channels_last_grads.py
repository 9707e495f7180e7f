"""Where channels-last loses gradient accuracy on a CPU: one training batch of lesson 1 (EfficientNet-Lite0, 96 px)
in float32 with the standard layout and with channels-last, each against the same batch in float64.

For every convolution and BatchNorm it prints the relative error of the weight gradient, ``|g - g64| / |g64|``, in
both layouts, and of the gradient flowing into the layer's input (a backward hook), so the table shows where the
error first grows and which kind of layer it grows in. Then, per layer kind, the median error in each layout, and
the kernel the trace points to: a training-mode BatchNorm2d alone, its float32 output in each layout against float64,
for inputs whose mean is 0 to 100 times their spread (the batch statistics are sums over N*H*W values per channel).

    .venv/bin/python benchmarks/bench_channels_last_grads.py [--size 96] [--bs 32] [--top 12]
"""

import argparse
import copy
import statistics

import torch
from torch import nn

from common import sample_tensors
from coursekit.core import seed_everything
from coursekit.vision import models


LAYOUTS = (torch.contiguous_format, torch.channels_last)


def kind(module):
    if isinstance(module, nn.Conv2d):
        if module.groups > 1 and module.groups == module.in_channels:
            return f"depthwise {module.kernel_size[0]}x{module.kernel_size[1]}"
        return f"conv {module.kernel_size[0]}x{module.kernel_size[1]}"
    return type(module).__name__


def gradients(model, x, y, dtype, channels_last):
    """Weight gradients and input gradients of every conv and BatchNorm for one training step."""
    model = copy.deepcopy(model).to(dtype)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x = x.to(dtype).contiguous(memory_format=fmt)
    model.train()
    grads_in, hooks = {}, []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)):
            hooks.append(
                m.register_full_backward_hook(lambda mod, gi, go, name=name: grads_in.__setitem__(name, gi[0]))
            )
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    for h in hooks:
        h.remove()
    weights = {n: m.weight.grad.detach().double() for n, m in model.named_modules() if n in grads_in}
    inputs = {n: g.detach().double() for n, g in grads_in.items() if g is not None}
    return weights, inputs, {n: kind(m) for n, m in model.named_modules() if n in grads_in}


def rel(a, b):
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def batchnorm_alone(shape=(32, 32, 48, 48)):
    """Relative error of a training-mode BatchNorm2d's float32 output in each layout, against float64."""
    print(f"\ntraining-mode BatchNorm2d alone, input {tuple(shape)}: float32 output error against float64")
    print(f"{'mean / sd':>10} {'standard':>10} {'ch-last':>10}")
    g = torch.Generator().manual_seed(0)
    for ratio in (0, 3, 10, 100):
        x = torch.randn(shape, dtype=torch.float64, generator=g) + ratio
        with torch.no_grad():
            ref = nn.BatchNorm2d(shape[1]).double()(x)
            outs = [nn.BatchNorm2d(shape[1])(x.float().contiguous(memory_format=f)) for f in LAYOUTS]
        errs = [rel(y.double(), ref) for y in outs]
        print(f"{ratio:>10} {errs[0]:10.1e} {errs[1]:10.1e}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--bs", type=int, default=32)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    train, _ = sample_tensors(args.size)
    x, y = train.tensors[0][: args.bs], train.tensors[1][: args.bs]
    seed_everything(0)
    model = models.cnn_model("efficientnet_lite0", n_out=2)
    model.head.train()  # dropout off below: both layouts must see the same network
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
        if hasattr(m, "inplace"):
            m.inplace = False  # backward hooks cannot watch a layer whose output is changed in place
    ref_w, ref_i, kinds = gradients(model, x, y, torch.float64, channels_last=False)
    ref_w_cl, _, _ = gradients(model, x, y, torch.float64, channels_last=True)
    print(
        "float64 channels-last vs float64 standard, largest weight-gradient difference: "
        f"{max(rel(ref_w_cl[n], ref_w[n]) for n in ref_w):.1e}"
    )
    results = {}
    for label, cl in (("standard", False), ("channels-last", True)):
        w, i, _ = gradients(model, x, y, torch.float32, channels_last=cl)
        results[label] = ({n: rel(w[n], ref_w[n]) for n in ref_w}, {n: rel(i[n], ref_i[n]) for n in ref_i if n in i})
    all_w = {label: torch.cat([ref_w[n].flatten() for n in ref_w]) for label in results}
    for label, cl in (("standard", False), ("channels-last", True)):
        w, _, _ = gradients(model, x, y, torch.float32, channels_last=cl)
        total = rel(torch.cat([w[n].flatten() for n in ref_w]), all_w[label])
        print(f"float32 {label:<13}: all weight gradients together {total:.2e} from float64")
    names = list(ref_w)  # forward order
    print(f"\nlayers where channels-last's weight-gradient error is largest (of {len(names)}):")
    print(f"{'layer':<40} {'kind':<14} {'standard':>9} {'ch-last':>9} {'input grad std/cl':>20}")
    worst = sorted(names, key=lambda n: -results["channels-last"][0][n])[: args.top]
    for n in worst:
        gi = (results["standard"][1].get(n, float("nan")), results["channels-last"][1].get(n, float("nan")))
        print(
            f"{n:<40} {kinds[n]:<14} {results['standard'][0][n]:9.1e} {results['channels-last'][0][n]:9.1e} "
            f"{gi[0]:9.1e}/{gi[1]:9.1e}"
        )
    print("\nmedian weight-gradient error by layer kind (standard / channels-last, count):")
    for k in sorted(set(kinds.values())):
        ns = [n for n in names if kinds[n] == k]
        s = statistics.median(results["standard"][0][n] for n in ns)
        c = statistics.median(results["channels-last"][0][n] for n in ns)
        print(f"  {k:<14} {s:9.1e} / {c:9.1e}  ({len(ns)})")
    print("\ninput-gradient error along the network, from the loss backwards (every 8th layer):")
    for n in list(reversed(names))[::8]:
        if n in results["standard"][1]:
            print(f"  {n:<40} {results['standard'][1][n]:9.1e} / {results['channels-last'][1][n]:9.1e}")
    batchnorm_alone()


if __name__ == "__main__":
    main()
