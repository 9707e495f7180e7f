"""The text stack's two costs against their bare equivalents, as ratios measured in one run.

(a) Tokenizing: coursekit's ``Tokenizer`` (the course's rules before and after spaCy, no disk cache) against
    spaCy's tokenizer alone (``spacy.blank("en").tokenizer.pipe``, token strings out) on the same reviews.
(b) Language-model training: ``Learner.fit`` with ``LMLoss`` and the callbacks a lesson uses (``ResetState``,
    ``GradientClip``; then also ``RNNRegularizer``) against a hand-written PyTorch loop doing the same work (reset
    the state each pass, clip, AR/TAR in the second variant), with the same model, batches and optimizer, each
    epoch followed by a validation pass. Target: ratio <= 1.05.

The reviews are ``../shared/data/imdb_sample`` (1,000 real IMDB reviews; ``COURSEKIT_SHARED_DATA``), or the
generated lesson-4 sample when the shared data is absent. Runs alternate (ours, bare, ours, bare, ...) so
machine noise hits both alike; medians and fastest runs are both reported.

    .venv/bin/python benchmarks/bench_text.py [--repeats 3] [--tokens 60000] [--epochs 1] [--emb 100 --hid 200]
        [--threads 1]
"""

import argparse
import copy
import statistics
import time

import torch
import torch.nn.functional as F

from common import shared_data
from coursekit import datasets
from coursekit.core import default_device, seed_everything
from coursekit.learner import Learner
from coursekit.text import loaders, models, pretrained, reading, training
from coursekit.text.tokenize import Tokenizer
from coursekit.text.vocab import Vocab


def review_texts():
    """(texts, where they come from): the real imdb_sample reviews, else the generated sample's training reviews."""
    csv = shared_data() / "imdb_sample" / "texts.csv"
    if csv.exists():
        return reading.read_texts_csv(csv)[0], f"{csv} (real IMDB reviews)"
    path = datasets.get_data("imdb", mode="sample")
    print(f"{csv} is absent (set COURSEKIT_SHARED_DATA): using the generated sample instead.")
    return reading.read_imdb_folder(path, "train")[0], f"{path} (generated sample)"


def spacy_alone(nlp, texts, batch_size):
    """spaCy's tokenizer and nothing else: one list of token strings per text."""
    return [[t.text for t in doc] for doc in nlp.tokenizer.pipe(texts, batch_size=batch_size)]


def bench_tokenizer(texts, repeats):
    import spacy

    tok, nlp = Tokenizer(), spacy.blank("en")
    times = {"coursekit": [], "spacy": []}
    n_tokens = {}
    for _ in range(repeats):
        for name, fn in (
            ("coursekit", lambda: tok.tokenize(texts)),
            ("spacy", lambda: spacy_alone(nlp, texts, tok.batch_size)),
        ):
            start = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - start)
            n_tokens[name] = sum(len(t) for t in out)
    return times, n_tokens


def plain_lm_fit(model, train_dl, valid_dl, n_epochs, lr, device, ar_tar=False, alpha=2.0, beta=1.0):
    """The loop a PyTorch user writes by hand for an AWD-LSTM: reset the state, clip, (AR/TAR), validate."""
    model.to(device)
    opt = pretrained.lm_adam(model.parameters(), lr=lr)
    for _ in range(n_epochs):
        model.train()
        model.reset()
        for x, y in train_dl:
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            if ar_tar:
                raw, out = model.encoder.raw_output, model.encoder.output  # (bs, seq, emb)
                loss = loss + alpha * out.pow(2).mean() + beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.4)
            opt.step()
            opt.zero_grad(set_to_none=True)
        model.eval()
        model.reset()
        total = count = 0
        with torch.no_grad():
            for x, y in valid_dl:
                x, y = x.to(device), y.to(device)
                total += F.cross_entropy(model(x).flatten(0, 1), y.flatten(), reduction="sum")
                count += y.numel()
        valid_loss = float(total / count)
    return valid_loss


def coursekit_lm_fit(model, train_dl, valid_dl, n_epochs, lr, device, ar_tar=False):
    """The same through the Learner, with the callbacks as a lesson passes them."""
    cbs = [training.ResetState(), training.GradientClip(0.4)] + ([training.RNNRegularizer()] if ar_tar else [])
    from coursekit.data import DataLoaders

    learn = Learner(
        model,
        DataLoaders(train_dl, valid_dl),
        training.LMLoss(),
        opt_func=pretrained.lm_adam,
        lr=lr,
        cbs=cbs,
        device=device,
    )
    learn.fit(n_epochs, lr)
    return learn.recorder.last_metrics["valid_loss"]


def bench_lm(texts, args, device):
    token_lists = Tokenizer().tokenize(texts)
    train, valid, n = [], [], 0
    for t in token_lists:  # the first --tokens tokens to train on, the next tenth of that to validate
        (train if n < args.tokens else valid).append(t)
        n += len(t)
        if n >= 1.1 * args.tokens:
            break
    vocab = Vocab.build(train, min_freq=2)
    train_ids, valid_ids = [vocab.numericalize(t) for t in train], [vocab.numericalize(t) for t in valid]
    seed_everything(0)
    start_model = models.language_model(len(vocab), emb_sz=args.emb, n_hid=args.hid, n_layers=3, drop_mult=0.3)
    rows = {}
    for ar_tar in (False, True):
        times, losses = {"coursekit": [], "plain": []}, {}
        for _ in range(args.repeats):
            for name, fit in (("coursekit", coursekit_lm_fit), ("plain", plain_lm_fit)):
                seed_everything(0)  # the same dropout masks and the same batches for both
                train_dl = loaders.LMLoader(train_ids, bs=args.bs, bptt=args.bptt, seed=0, vocab=vocab)
                valid_dl = loaders.LMLoader(
                    valid_ids, bs=args.bs, bptt=args.bptt, shuffle=False, vary_bptt=False, seed=0, vocab=vocab
                )
                model = copy.deepcopy(start_model)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                losses[name] = fit(model, train_dl, valid_dl, args.epochs, args.lr, device, ar_tar=ar_tar)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times[name].append(time.perf_counter() - start)
        rows[ar_tar] = times, losses, train_dl.batch_size * train_dl.row_len * args.epochs
    return rows, len(vocab), len(train), len(valid)


def show(label, times, n, unit, ours="coursekit", bare="plain"):
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in (ours, bare):
        print(
            f"  {k:<10}: median {med[k]:.2f} s ({n[k] / med[k]:,.0f} {unit}/s), fastest {min(times[k]):.2f} s, "
            f"runs {[round(t, 2) for t in times[k]]}"
        )
    print(
        f"  {label} ratio {ours}/{bare}: {med[ours] / med[bare]:.3f} of medians, "
        f"{min(times[ours]) / min(times[bare]):.3f} of fastest runs"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=60000, help="tokens of reviews the language model trains on")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--emb", type=int, default=100)
    parser.add_argument("--hid", type=int, default=200)
    parser.add_argument("--bs", type=int, default=32)
    parser.add_argument("--bptt", type=int, default=70)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's); 1 on a CPU shared with other work"
    )
    parser.add_argument("--skip-tokenizer", action="store_true")
    parser.add_argument("--skip-lm", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = default_device()
    texts, source = review_texts()
    print(f"texts: {len(texts):,} reviews from {source}; device: {device}; torch threads: {torch.get_num_threads()}")
    if not args.skip_tokenizer:
        times, n_tokens = bench_tokenizer(texts, args.repeats)
        print(
            f"\n(a) tokenizing {len(texts):,} reviews, no cache, {args.repeats} alternating repeats "
            f"(coursekit: {n_tokens['coursekit']:,} tokens with the markers; spaCy alone: {n_tokens['spacy']:,})"
        )
        show("tokenizer", times, n_tokens, "tokens", bare="spacy")
    if not args.skip_lm:
        rows, n_vocab, n_train, n_valid = bench_lm(texts, args, device)
        print(
            f"\n(b) language model (AWD-LSTM emb {args.emb}, hid {args.hid}, 3 layers, vocab {n_vocab:,}) on "
            f"{n_train} reviews, validated on {n_valid}; bs {args.bs}, bptt {args.bptt}, {args.epochs} epoch(s), "
            f"{args.repeats} alternating repeats; tokens/s = training tokens / time of fit incl. validation"
        )
        for ar_tar, (times, losses, n) in rows.items():
            print(
                f" callbacks ResetState + GradientClip{' + RNNRegularizer (AR/TAR)' if ar_tar else ''}: "
                f"valid loss coursekit {losses['coursekit']:.4f} vs plain {losses['plain']:.4f}"
            )
            show("training", times, {"coursekit": n, "plain": n}, "tokens")
        print("target: training ratio <= 1.05")


if __name__ == "__main__":
    main()
