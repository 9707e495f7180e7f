import io

import pytest

from coursekit.progress import ProgressDisplay, format_time


def test_terminal_output_is_plain_table_rows():
    out = io.StringIO()  # not a tty: no bar lines, just the table
    display = ProgressDisplay(out=out)
    display.write_header(["epoch", "train_loss", "time"])
    for i in range(100):
        display.update(i + 1, 100, "train")
    display.write_row([0, 0.5, "00:01"])
    display.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].split() == ["epoch", "train_loss", "time"]
    assert lines[1].split() == ["0", "0.500000", "00:01"]


def test_format_time():
    assert format_time(5) == "00:05"
    assert format_time(125.4) == "02:05"
    assert format_time(3725) == "1:02:05"


def test_fit_prints_one_row_per_epoch(synth_learner, capsys):
    learn = synth_learner()
    learn.fit(3)
    rows = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert rows[0].split() == ["epoch", "train_loss", "valid_loss", "time"]
    assert [r.split()[0] for r in rows[1:]] == ["0", "1", "2"]


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
    """In a Jupyter kernel the bar and table are one display, updated live: a saved notebook keeps one output."""
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
    assert kinds.count("display_data") == 1 and "stream" not in kinds  # nothing printed line by line
    updates = [m["content"] for m in msgs if m["msg_type"] == "update_display_data"]
    assert len(updates) >= 4  # at least one per epoch's row and the final close
    assert any("<progress" in u["data"]["text/html"] for u in updates)  # the live bar was shown
    final = updates[-1]["data"]["text/html"]
    assert final.count("<tr>") == 1 + 3 and "<progress" not in final  # header + 3 epochs, bar removed
