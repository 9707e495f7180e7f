"""Memory of one validation pass over segmentation masks: metrics that keep every batch's outputs (the old
default, still what ``metrics.whole_pass`` asks for) against metrics that count batch by batch (now).

A generated CamVid-layout set (200 images, 96x128, 32 classes), a per-pixel model (a 1x1 convolution, so
the model costs next to nothing and the metrics' memory shows), pixel accuracy and mean IoU. Each variant
runs in its own process, which reports how far its resident memory (RSS) rose above where it stood before
the pass, and how many bytes its metrics hold at the end.

    .venv/bin/python benchmarks/bench_valid_memory.py [--n 200] [--bs 8]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coursekit import metrics  # noqa: E402
from coursekit.callbacks import Callback, CancelTrainException  # noqa: E402
from coursekit.core import seed_everything  # noqa: E402
from coursekit.data import make_loaders  # noqa: E402
from coursekit.learner import Learner  # noqa: E402
from coursekit.samples.vision import make_camvid_sample  # noqa: E402
from coursekit.vision import segmentation  # noqa: E402

SIZE = (96, 128)  # height, width


class ValidOnly(Callback):
    """Skip training: the pass under test is the validation one."""

    def before_train(self, learn):
        raise CancelTrainException()


def status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def held_bytes(metric):
    """Bytes of the tensors a metric object holds (directly or in lists)."""
    total = 0
    for v in vars(metric).values():
        for t in v if isinstance(v, (list, tuple)) else [v]:
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()
    return total


def one_variant(path, variant, bs):
    """Run one validation pass and return its memory figures (in the child process)."""
    seed_everything(0)
    items, masks, codes = segmentation.segmentation_items(path)
    ds = segmentation.SegmentationDataset(items, masks, codes, segmentation.seg_valid_tfms(SIZE))
    dls = make_loaders(ds, ds, bs=bs // 2)  # the validation loader takes bs
    void = codes.index("Void")
    if variant == "keep all outputs":  # the old default: a plain function, every batch kept on the CPU
        acc = metrics.whole_pass(lambda preds, targets: segmentation.pixel_accuracy(void)(preds, targets))
        acc.__name__ = "pixel_accuracy"
    else:
        acc = segmentation.pixel_accuracy(void)
    iou = segmentation.SegmentationIoU(len(codes), void)
    learn = Learner(
        nn.Conv2d(3, len(codes), 1), dls, nn.CrossEntropyLoss(ignore_index=void), metrics=[acc, iou], cbs=[ValidOnly()]
    )
    learn.remove_cbs([cb for cb in learn.cbs if type(cb).__name__ == "ProgressCallback"])
    learn.get_preds(dl=[next(iter(dls.valid))])  # warm up the model and the loader once
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark (Linux)
    before = status_kb("VmRSS")
    learn.fit(1)
    peak = status_kb("VmHWM")
    return {
        "variant": variant,
        "rise_mb": (peak - before) / 1024,
        "held_mb": sum(held_bytes(m) for m in learn.recorder.metrics) / 2**20,
        "pixel_accuracy": learn.recorder.last_metrics["pixel_accuracy"],
        "mean_iou": iou.value,
        "device": str(learn.device),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="images in the validation set")
    parser.add_argument("--bs", type=int, default=8, help="validation batch size")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_variant(Path(args.child[0]), args.child[1], args.bs)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        make_camvid_sample(tmp, seed=0, n=args.n, size=SIZE[::-1])
        results = {}
        for variant in ("keep all outputs", "count batch by batch"):
            out = subprocess.run(
                [sys.executable, __file__, "--bs", str(args.bs), "--child", tmp, variant],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[variant] = json.loads(out.strip().splitlines()[-1])
    old, new = results["keep all outputs"], results["count batch by batch"]
    print(
        f"validation pass over {args.n} masks of {SIZE[0]}x{SIZE[1]}, 32 classes, batches of {args.bs}, "
        f"on {old['device']}"
    )
    for r in (old, new):
        print(
            f"  {r['variant']:<22} RSS rise {r['rise_mb']:8.1f} MB; metrics hold {r['held_mb']:8.2f} MB; "
            f"pixel accuracy {r['pixel_accuracy']:.4f}, mean IoU {r['mean_iou']:.4f}"
        )
    print(
        f"  ratio (keep all / count): RSS rise {old['rise_mb'] / max(new['rise_mb'], 1e-9):.1f}x, "
        f"held {old['held_mb'] / max(new['held_mb'], 1e-9):.0f}x"
    )
    assert abs(old["pixel_accuracy"] - new["pixel_accuracy"]) < 1e-6, "both ways must give the same metric"


if __name__ == "__main__":
    main()
