"""Data-parallel training: two gloo processes under torchrun end with the weights of one process trained on the
same global batches, only the first process writes files, and a one-cycle schedule runs to its end on each
process's shard as it does in one process."""

import json
import math
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DistributedSampler, TensorDataset

from coursekit.data import make_loaders
from coursekit.distributed import check_devices, is_main, setup
from coursekit.learner import Learner, adamw

N, BS, EPOCHS, LR = 96, 8, 2, 1e-2  # per-process batch 8: a global batch of 16


def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, 4, generator=g)
    return x, (x @ torch.randn(4, 3, generator=g)).argmax(1)


def model():
    torch.manual_seed(0)  # no BatchNorm: its statistics would be per process
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


CHILD = textwrap.dedent("""
    import os, sys
    import torch
    from torch import nn
    from torch.utils.data import TensorDataset
    sys.path.insert(0, {tests!r})
    from test_distributed import BS, EPOCHS, LR, data, model
    from coursekit.data import make_loaders
    from coursekit.distributed import DistributedTrainer, cleanup, setup
    from coursekit.learner import Learner
    from coursekit.resume import Checkpoints

    device = setup("gloo")  # CPU processes, also on a machine with GPUs
    rank, folder = int(os.environ["RANK"]), sys.argv[1]
    x, y = data()
    dls = make_loaders(TensorDataset(x, y), TensorDataset(x[:32], y[:32]), bs=BS, seed=0)
    path = os.path.join(folder, f"rank{{rank}}")
    learn = Learner(model(), dls, nn.CrossEntropyLoss(), lr=LR, device=device, path=path,
                    mixed_precision=False)
    learn.fit(EPOCHS, cbs=[DistributedTrainer(seed=0), Checkpoints("run")])
    learn.save("final")
    torch.save(learn.model.state_dict(), os.path.join(folder, f"weights{{rank}}.pt"))  # the test's own record
    cleanup()
""")


ONE_CYCLE_CHILD = textwrap.dedent("""
    import json, os, sys
    from torch import nn
    from torch.utils.data import TensorDataset
    sys.path.insert(0, {tests!r})
    from test_distributed import BS, EPOCHS, LR, data, model
    from coursekit.data import make_loaders
    from coursekit.distributed import DistributedTrainer, cleanup, setup
    from coursekit.learner import Learner

    device = setup("gloo")
    x, y = data()
    dls = make_loaders(TensorDataset(x, y), TensorDataset(x[:32], y[:32]), bs=BS, seed=0)
    learn = Learner(model(), dls, nn.CrossEntropyLoss(), lr=LR, device=device, mixed_precision=False)
    learn.fit_one_cycle(EPOCHS, LR, cbs=[DistributedTrainer(seed=0)])
    seen = dict(lrs=learn.recorder.lrs, moms=learn.recorder.moms, last=learn.opt.param_groups[0]["lr"])
    with open(os.path.join(sys.argv[1], "sched" + os.environ["RANK"] + ".json"), "w") as f:
        json.dump(seen, f)
    cleanup()
""")


def torchrun(script, *args):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_addr=127.0.0.1",
            f"--master_port={free_port()}",
            str(script),
            *map(str, args),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_train_as_one_process_on_the_same_global_batches(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent)))
    run = torchrun(script, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    w0, w1 = torch.load(tmp_path / "weights0.pt"), torch.load(tmp_path / "weights1.pt")
    assert all(torch.equal(w0[k], w1[k]) for k in w0)  # every process holds the same weights
    # one process, a plain loop, each step on the union of the two processes' batches
    x, y = data()
    ref = model()
    opt = adamw(ref.parameters(), lr=LR, weight_decay=0.01)
    ds = TensorDataset(x, y)
    for epoch in range(EPOCHS):
        parts = []
        for rank in (0, 1):
            sampler = DistributedSampler(ds, 2, rank, shuffle=True, seed=0, drop_last=True)
            sampler.set_epoch(epoch)
            parts.append(list(sampler))
        for k in range(len(parts[0]) // BS):
            idx = parts[0][k * BS : (k + 1) * BS] + parts[1][k * BS : (k + 1) * BS]
            loss = nn.functional.cross_entropy(ref(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    for k, v in ref.state_dict().items():
        assert torch.allclose(w0[k], v, atol=1e-5), k
    assert (tmp_path / "rank0" / "models" / "final.pth").is_file()
    assert (tmp_path / "rank0" / "models" / "run-epoch2.pth").is_file()
    assert not (tmp_path / "rank1").exists()  # the second process wrote nothing
    assert run.stdout.count("train_loss") == 1  # one progress table


def test_one_cycle_on_two_processes_ends_where_one_process_ends(tmp_path):
    # The schedule is counted after DistributedTrainer gave each process its shard (6 batches an epoch, not 12).
    script = tmp_path / "child.py"
    script.write_text(ONE_CYCLE_CHILD.format(tests=str(Path(__file__).parent)))
    run = torchrun(script, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = [json.loads((tmp_path / f"sched{rank}.json").read_text()) for rank in (0, 1)]
    assert seen[0] == seen[1]  # both processes follow one schedule

    def one_process(bs):
        x, y = data()
        dls = make_loaders(TensorDataset(x, y), TensorDataset(x[:32], y[:32]), bs=bs, seed=0)
        learn = Learner(model(), dls, nn.CrossEntropyLoss(), lr=LR, device="cpu", mixed_precision=False, cbs=[])
        learn.fit_one_cycle(EPOCHS, LR)
        return learn.recorder.lrs, learn.recorder.moms, learn.opt.param_groups[0]["lr"]

    lrs, moms, last = seen[0]["lrs"], seen[0]["moms"], seen[0]["last"]
    assert len(lrs) == EPOCHS * N // (2 * BS)  # every step of the shard, each one scheduled
    # one process on the same global batches (bs 16): the same steps, the same schedule, the same end
    ref_lrs, ref_moms, ref_last = one_process(2 * BS)
    assert lrs == pytest.approx(ref_lrs, rel=1e-12) and moms == pytest.approx(ref_moms, rel=1e-12)
    assert last == pytest.approx(ref_last, rel=1e-12)
    n, end = len(lrs), LR / 25 / 1e4  # the last step's lr: the descent at pos (n-1)/n (phases.one_cycle_phases)
    assert last == pytest.approx(end + (LR - end) / 2 * (1 + math.cos(math.pi * ((n - 1) / n - 0.3) / 0.7)))
    # one process on batches of 8 takes twice the steps: the same curve over the fraction of training done
    fine_lrs, fine_moms, _ = one_process(BS)
    assert len(fine_lrs) == 2 * len(lrs)
    assert lrs == pytest.approx(fine_lrs[::2], rel=1e-12) and moms == pytest.approx(fine_moms[::2], rel=1e-12)


def test_more_processes_than_gpus_is_refused_with_what_to_do():
    check_devices(2, 0)  # CPU processes: any number
    check_devices(4, 4)
    with pytest.raises(RuntimeError, match="3 processes on this machine, but it has 2 GPU.*--nproc_per_node=2"):
        check_devices(3, 2)


def test_setup_outside_torchrun_says_how_to_launch(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(RuntimeError, match="torchrun --nproc_per_node"):
        setup()
    assert is_main()  # one process: it is the main one
