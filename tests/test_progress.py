"""Progress during fit (fastprogress): table lines in a log, a bar and the table in a terminal, one live display
in a notebook that ends as the table alone."""

import re
import sys

import pytest

from coursekit.progress import LossComment, format_time, progress_bar


def test_a_log_gets_one_table_line_per_epoch_and_no_bar(synth_learner, capsys):
    learn = synth_learner()
    learn.fit(3)
    out = capsys.readouterr().out
    assert "\r" not in out and "█" not in out  # not a terminal: no bar, no test character
    rows = [line for line in out.splitlines() if line.strip()]
    assert rows[0].split() == ["epoch", "train_loss", "valid_loss", "time"]
    assert [r.split()[0] for r in rows[1:]] == ["0", "1", "2"] and len(rows) == 4
    history = learn.recorder.history()
    for row, (_, want) in zip(rows[1:], history.iterrows()):  # the table shows the recorder's figures
        assert [float(v) for v in row.split()[1:3]] == pytest.approx([want["train_loss"], want["valid_loss"]], abs=1e-6)


def test_a_terminal_gets_a_bar_over_each_pass_and_the_table(synth_learner, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    learn = synth_learner()
    learn.fit(2)
    out = capsys.readouterr().out
    assert "\r" in out and "Epoch 1/2" in out and "Epoch 2/2" in out and "train loss" in out
    lines = [line.strip() for line in out.replace("\r", "\n").splitlines()]
    assert any(line.split() == ["epoch", "train_loss", "valid_loss", "time"] for line in lines)
    assert sum(1 for line in lines if line.split()[:1] in (["0"], ["1"])) == 2


def test_the_loss_is_read_only_when_the_bar_is_drawn(synth_learner):
    learn = synth_learner()
    comment = LossComment(learn, "train")
    learn.loss = None
    assert str(comment) == "train" and len(comment)
    learn.fit(1)
    assert str(comment) == f"train loss {learn.loss.item():.4f}"


def test_a_loop_shows_a_bar_in_a_terminal_and_nothing_in_a_log(capsys, monkeypatch):
    assert list(progress_bar(iter(range(50)), 50, "tokenizing")) == list(range(50))
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert list(progress_bar(iter(range(50)), 50, "tokenizing")) == list(range(50))
    out = capsys.readouterr().out
    assert "[50/50" in out and "tokenizing" in out


def test_format_time():
    assert format_time(5) == "00:05"
    assert format_time(125.4) == "02:05"
    assert format_time(3725) == "1:02:05"


KERNEL_FIT = """
import torch
from torch import nn
from torch.utils.data import TensorDataset
from coursekit.data import make_loaders
from coursekit.learner import Learner
torch.manual_seed(0)
x = torch.randn(512, 4); y = (x[:, 0] > 0).long()
dls = make_loaders(TensorDataset(x[:400], y[:400]), TensorDataset(x[400:], y[400:]), bs=8)
Learner(nn.Linear(4, 2), dls, nn.CrossEntropyLoss(), device="cpu").fit(3)
"""


@pytest.mark.kernel
def test_in_a_notebook_one_display_is_updated_in_place():
    """In a Jupyter kernel the bars and table are one display, updated live: a saved notebook keeps the table."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        msg_id = kc.execute(KERNEL_FIT)
        msgs = []
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            msgs.append(msg)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    kinds = [m["msg_type"] for m in msgs]
    assert "error" not in kinds, [m["content"] for m in msgs if m["msg_type"] == "error"]
    shown = [m["content"]["data"]["text/html"] for m in msgs if m["msg_type"] == "display_data"]
    # fastprogress's stylesheet for the bars, then the one live display; nothing printed line by line
    assert len(shown) == 2 and shown[0].strip().startswith("<style>") and "stream" not in kinds
    updates = [m["content"] for m in msgs if m["msg_type"] == "update_display_data"]
    assert len(updates) >= 4  # at least one per epoch's row and the final close
    assert any("<progress" in u["data"]["text/html"] for u in updates)  # the live bar was shown
    final = updates[-1]["data"]["text/html"]
    assert final.count("<tr") == 1 + 3 and "<progress" not in final  # header + 3 epochs, bars removed


def test_predicting_and_the_lr_sweep_show_a_bar_in_a_terminal_and_nothing_in_a_log(synth_learner, capsys, monkeypatch):
    learn = synth_learner()
    learn.fit(1)
    capsys.readouterr()
    learn.get_preds()
    learn.lr_find(num_it=20, show_plot=False)
    assert capsys.readouterr().out == ""  # a log: nothing
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    n = len(learn.dls.valid)
    preds, _ = learn.get_preds()
    out = capsys.readouterr().out
    assert f"[{n}/{n}" in out and "predicting" in out and len(preds) == len(learn.dls.valid_ds)
    learn.lr_find(num_it=20, show_plot=False)
    out = capsys.readouterr().out
    assert "lr_find: up to 20 steps" in out and "Epoch" not in out  # one bar over the sweep, not fit's display
    counts = [int(c) for c in re.findall(r"\[(\d+)/20 ", out)]  # it counts the sweep's steps (it may stop early)
    assert 0 < max(counts) <= len(learn.lr_find_result.lrs)
