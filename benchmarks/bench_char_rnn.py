"""Lesson 7's character models: the Learner's cost on a stateful LSTM, and what each model reaches on Nietzsche.

The models and the ``StatefulRNN`` callback are lesson 7's own, read from the notebook's definition cells
(``tests/notebook_defs.py``), so this measures the code students read.

(1) Throughput (default): a stateful character LSTM (the lesson's ``CharModel``, ``StatefulRNN``, ``LMLoss``,
    ``GradientClip``) trained for one epoch and validated through ``Learner.fit`` against a hand-written
    PyTorch loop doing the same work (reset the state each pass, detach it each batch, clip, validate) with
    the same model, batches and optimizer. Runs alternate (ours, plain, ours, ...); characters per second and
    the ratio of times (target <= 1.05). Text: the first ``--chars`` characters of the offline sample.
(2) ``--nietzsche [--minutes M] [--other-minutes m]``: ``../shared/data/nietzsche`` (``COURSEKIT_SHARED_DATA``),
    the last 10% held out. The 3-character model, a stateful RNN and GRU (256 units) train ``m`` minutes each,
    the 2-layer LSTM of 512 units ``M`` minutes, each with a learning rate that warms up then follows a cosine
    over its time budget; validation loss in nats per character of each, in one table. Float32 (a CPU without
    native bf16 runs bf16 autocast slower, not faster). The budgets count this process's CPU time by default
    (``--clock cpu``: with one thread, what a quiet machine takes in wall time; the wall time is printed too).

    .venv/bin/python benchmarks/bench_char_rnn.py [--repeats 3] [--chars 60000] [--threads 1]
    .venv/bin/python benchmarks/bench_char_rnn.py --nietzsche --minutes 10 [--other-minutes 2]
"""

import argparse
import copy
import itertools
import math
import statistics
import time

import torch
import torch.nn.functional as F
from common import lesson_defs, shared_data
from torch import nn

from coursekit import datasets
from coursekit.callbacks import Callback, CancelFitException, CancelTrainException
from coursekit.core import seed_everything
from coursekit.learner import Learner, adamw
from coursekit.text import chars, training


L7 = lesson_defs("lesson07_rnn")  # the lesson's models: Char3Model, CharModel, StatefulRNN, detach_state


def plain_fit(model, dls, lr, clip=0.5):
    """The loop a PyTorch user writes for a stateful model: reset per pass, detach per batch, clip, validate."""
    opt = adamw(model.parameters(), lr=lr)
    model.train()
    model.reset()
    for x, y in dls.train:
        model.hidden = L7.detach_state(model.hidden)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
    model.eval()
    model.reset()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in dls.valid:
            total += float(F.cross_entropy(model(x).flatten(0, 1), y.flatten(), reduction="sum"))
            count += y.numel()
    return total / count


def learner_fit(model, dls, lr, clip=0.5):
    learn = Learner(
        model, dls, training.LMLoss(), lr=lr, device="cpu", cbs=[L7.StatefulRNN(), training.GradientClip(clip)]
    )
    learn.fit(1)
    return learn.recorder.last_metrics["valid_loss"]


def bench_throughput(args):
    text = chars.read_chars(datasets.get_data("nietzsche", mode="sample") / "nietzsche.txt")[: args.chars]
    vocab = chars.CharVocab.build(text)
    dls = chars.stateful_dls(text, vocab, bs=args.bs, bptt=args.bptt)
    seed_everything(0)
    start_model = L7.CharModel(len(vocab), 42, args.hid, 2, "lstm", dropout=0.3)
    n_chars = dls.train.batch_size * dls.train.row_len
    times, losses = {"coursekit": [], "plain": []}, {}
    print(
        f"{n_chars:,} training characters, {len(dls.train)} batches of {args.bs}x{args.bptt}; "
        f"LSTM 2x{args.hid}; {args.repeats} alternating repeats, {torch.get_num_threads()} thread(s)"
    )
    for name, fit in (("coursekit", learner_fit), ("plain", plain_fit)):  # untimed warm-up: the first fit in
        fit(copy.deepcopy(start_model), dls, args.lr)  # a process pays for allocator set-up
    for _ in range(args.repeats):
        for name, fit in (("coursekit", learner_fit), ("plain", plain_fit)):
            model = copy.deepcopy(start_model)
            seed_everything(1)  # the same dropout masks in both loops
            start = time.perf_counter()
            losses[name] = fit(model, dls, args.lr)
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    for name in times:
        print(
            f"  {name:<10} median {med[name]:.2f} s, fastest {best[name]:.2f} s "
            f"({n_chars / med[name]:,.0f} chars/s median); valid loss {losses[name]:.4f} nats/char"
        )
    print(
        f"ratio coursekit / plain: {med['coursekit'] / med['plain']:.3f} of medians, "
        f"{best['coursekit'] / best['plain']:.3f} of fastest runs (target <= 1.05)"
    )


class TimeBudget(Callback):
    """lr warms up over the first 3% of ``seconds`` of training, then follows a cosine to zero; training stops
    when the time is spent (validation still runs on the last epoch). Validation time is not counted.

    ``clock`` is ``time.process_time`` (this process's CPU time: on a CPU shared with other jobs, the time a
    quiet machine would take with the same threads) or ``time.perf_counter`` (wall time)."""

    order = 100  # after the Recorder, which must see the last epoch before CancelFitException

    def __init__(self, seconds, lr_max, clock=time.process_time):
        self.seconds, self.lr_max, self.clock, self.used, self.wall = seconds, lr_max, clock, 0.0, 0.0

    def before_train(self, learn):
        self.start, self.wall_start = self.clock(), time.perf_counter()

    def after_train(self, learn):
        self.used += self.clock() - self.start
        self.wall += time.perf_counter() - self.wall_start

    def spent(self):
        return self.used + self.clock() - self.start

    def before_batch(self, learn):
        if learn.training:
            frac = min(1.0, self.spent() / self.seconds)
            shape = frac / 0.03 if frac < 0.03 else 0.5 * (1 + math.cos(math.pi * (frac - 0.03) / 0.97))
            learn.set_lrs([self.lr_max * max(shape, 0.01)] * len(learn.opt.param_groups))

    def after_batch(self, learn):
        if learn.training and self.spent() > self.seconds:
            raise CancelTrainException()

    def after_epoch(self, learn):
        if self.used >= self.seconds:
            raise CancelFitException()


def train_for(name, model, dls, loss_func, minutes, lr, stateful_model, clock):
    cbs = [TimeBudget(minutes * 60, lr, clock), training.GradientClip(0.5)]
    cbs += [L7.StatefulRNN()] if stateful_model else []
    learn = Learner(model, dls, loss_func, lr=lr, device="cpu", cbs=cbs)
    start = time.perf_counter()
    learn.fit(1000)
    valid_losses = learn.recorder.column("valid_loss")
    epochs = len(valid_losses)  # the last one is usually partial
    print(
        f"  {name}: valid loss per epoch {[round(v, 4) for v in valid_losses]}; training {cbs[0].used:.0f} s by the "
        f"budget's clock, {cbs[0].wall:.0f} s wall ({time.perf_counter() - start:.0f} s wall with validation)",
        flush=True,
    )
    return valid_losses[-1], cbs[0].used, cbs[0].wall, epochs


def bench_nietzsche(args):
    path = shared_data() / "nietzsche" / "nietzsche.txt"
    if not path.exists():
        print(f"SKIPPED: {path} is absent (set COURSEKIT_SHARED_DATA to the shared/data folder).")
        return
    text = chars.read_chars(path)
    vocab = chars.CharVocab.build(text)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(
        f"{path}: {len(text):,} characters, {vocab}; {torch.get_num_threads()} thread(s), float32; "
        f"time budgets in {args.clock} time"
    )
    rows = []
    seed_everything(0)
    dls3 = chars.char_window_dls(text, vocab, n=3, step=1, bs=512)
    rows.append(
        (
            "3-char model (256)",
            *train_for(
                "3-char",
                L7.Char3Model(len(vocab), 42, 256),
                dls3,
                nn.CrossEntropyLoss(),
                args.other_minutes,
                3e-3,
                False,
                clock,
            ),
        )
    )
    dls = chars.stateful_dls(text, vocab, bs=64, bptt=16)
    for kind, name in (("rnn", "stateful RNN (256)"), ("gru", "stateful GRU (256)")):
        seed_everything(0)
        model = L7.CharModel(len(vocab), 42, 256, 1, kind)
        rows.append((name, *train_for(kind, model, dls, training.LMLoss(), args.other_minutes, 3e-3, True, clock)))
    seed_everything(0)
    lstm = L7.CharModel(len(vocab), 42, 512, 2, "lstm", dropout=args.dropout)
    rows.append(
        (
            f"LSTM (2x512, dropout {args.dropout})",
            *train_for("lstm", lstm, dls, training.LMLoss(), args.minutes, args.lstm_lr, True, clock),
        )
    )
    print(
        f"\n| model | training ({args.clock} time) | wall time | epochs (last partial) | valid loss (nats/char) |\n"
        "| --- | --- | --- | --- | --- |"
    )
    for name, loss, used, wall, epochs in rows:
        print(f"| {name} | {used / 60:.1f} min | {wall / 60:.1f} min | {epochs} | {loss:.4f} |")
    lstm_loss = rows[-1][1]
    print(
        f"\nLSTM {lstm_loss:.4f} nats/char after {args.minutes} min: {'ok' if lstm_loss <= 1.45 else 'MISSED'} "
        "(target <= 1.45); ordered as the lesson claims (3-char > RNN > GRU > LSTM): "
        f"{all(a[1] > b[1] for a, b in itertools.pairwise(rows))}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nietzsche", action="store_true", help="(2): validation loss of each model on Nietzsche")
    parser.add_argument("--minutes", type=float, default=10, help="(2): the LSTM's training time")
    parser.add_argument("--other-minutes", type=float, default=2, help="(2): each other model's training time")
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="(2): budgets in this process's CPU time (fair on a shared CPU) or wall time",
    )
    parser.add_argument("--lstm-lr", type=float, default=2e-3)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chars", type=int, default=60000)
    parser.add_argument("--hid", type=int, default=256)
    parser.add_argument("--bs", type=int, default=64)
    parser.add_argument("--bptt", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared CPU)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench_nietzsche(args) if args.nietzsche else bench_throughput(args)


if __name__ == "__main__":
    main()
