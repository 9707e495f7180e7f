"""General-English language models for ULMFiT's first stage, cached like datasets: made once per machine.

- **sample mode**: an AWD-LSTM trained here, offline, on ``reading.python_corpus()`` (the reference manual
  and docstrings that ship with Python: real English, not generated). Training it takes tens of seconds on a
  CPU; the result is cached under ``datasets.data_dir()/models`` and found again by a key made of the corpus,
  the recipe and the tokenizer rules, so a change of any of them trains it again.
- **full mode**: the WikiText-103 AWD-LSTM published for the 2018 course (``fwd_wt103.h5`` or
  ``bwd_wt103.h5`` with ``itos_wt103.pkl``), downloaded once and converted to coursekit's names
  (``transfer.convert_wt103``).

``general_lm(mode, backwards)`` returns a ``PretrainedLM``: weights, vocabulary, model settings. ULMFiT then
moves the weights to the target vocabulary (``transfer.transfer_vocab``) and fine-tunes.
"""

import hashlib
import json
import os
import pickle
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from coursekit.core import seed_everything
from coursekit.datasets import data_dir, get_mode
from coursekit.downloads import download_url
from coursekit.learner import Learner
from coursekit.locks import folder_lock, remove_leftovers, swap_into_place
from coursekit.registry import DatasetInfo
from coursekit.text import loaders, models, reading, training, transfer
from coursekit.text.tokenize import RULES_VERSION
from coursekit.text.vocab import Vocab, fingerprint_of

# The offline general model: small enough to pretrain in well under a minute on a 2-core CPU.
PYTHON_LM_CONFIG = dict(emb_sz=100, n_hid=200, n_layers=3)
PYTHON_LM_RECIPE = dict(epochs=4, lr=5e-3, bs=32, bptt=70, min_freq=3, max_vocab=4000, drop_mult=0.2, seed=0, version=1)

WT103_BASE = "http://files.fast.ai/models/wt103/"
PRETRAINED = {  # no checksum is published for these files: download_url prints the sha256 it computes
    name: DatasetInfo(
        name,
        WT103_BASE + name,
        lesson=10,
        description=what,
        licence="WikiText-103 (CC BY-SA 3.0); weights published by fast.ai for the 2018 course",
    )
    for name, what in (
        ("fwd_wt103.h5", "forward AWD-LSTM language model trained on WikiText-103"),
        ("bwd_wt103.h5", "backward AWD-LSTM language model trained on WikiText-103"),
        ("itos_wt103.pkl", "its vocabulary: 238,462 tokens, index to string"),
    )
}


@dataclass
class PretrainedLM:
    """A pretrained language model: ``state_dict`` for ``models.language_model(len(itos), **config)``, and its
    vocabulary ``itos`` (index to token; ``transfer.transfer_vocab`` carries rows over to another)."""

    state_dict: dict
    itos: list
    config: dict
    info: dict = field(default_factory=dict)
    folder: Path = None

    def model(self):
        """A fresh language model holding these weights."""
        lm = models.language_model(len(self.itos), **self.config)
        lm.load_state_dict(self.state_dict)
        lm.encoder.vocab_fingerprint = fingerprint_of(self.itos)
        return lm

    def __repr__(self):
        n = sum(v.numel() for v in self.state_dict.values() if torch.is_tensor(v))
        facts = ", ".join(f"{k} {v}" for k, v in self.info.items() if k in ("corpus", "tokens", "perplexity"))
        return (
            f"PretrainedLM({self.info.get('direction', 'forward')}, {len(self.itos):,}-token vocab, "
            f"{n / 1e6:.1f}M parameters, {self.config}; {facts}; cached in {self.folder})"
        )


def general_lm(mode=None, backwards=False, force=False):
    """The general-English language model for ``mode``: trained offline on Python's own text ('sample') or
    the 2018 WikiText-103 weights ('full'); built or downloaded the first time, then read from the cache."""
    if get_mode(mode) == "full":
        return _wt103(backwards, force)
    key = _python_lm_key(backwards)
    dest = data_dir() / "models" / f"python_lm-{'bwd' if backwards else 'fwd'}-{key}"
    if not force and (dest / "info.json").exists():
        return _read(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(dest, "Waiting for another process that is pretraining the same language model...") as since:
        if not force and (dest / "info.json").exists():
            return _read(dest)
        remove_leftovers(dest, "training", since)
        tmp = dest.with_name(f"{dest.name}.training-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            train_python_lm(tmp, backwards)
            swap_into_place(tmp, dest)  # an interrupted pretraining never looks finished
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _read(dest)


def _python_lm_key(backwards):
    """What makes the offline model: the corpus text, the recipe, the model settings and the tokenizer rules."""
    h = hashlib.sha256()
    for text in reading.python_corpus():
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    h.update(json.dumps([PYTHON_LM_CONFIG, PYTHON_LM_RECIPE, RULES_VERSION, backwards], sort_keys=True).encode())
    return h.hexdigest()[:12]


def train_python_lm(dest, backwards=False, recipe=None, config=None):
    """Pretrain the offline general model on Python's text and write it into the folder ``dest``."""
    recipe, config = {**PYTHON_LM_RECIPE, **(recipe or {})}, {**PYTHON_LM_CONFIG, **(config or {})}
    start = time.time()
    texts = reading.python_corpus()
    print(
        f"Pretraining a general language model ({'backward' if backwards else 'forward'}) on {len(texts):,} "
        "texts that ship with Python; done once, then cached.",
        flush=True,
    )
    seed_everything(recipe["seed"])
    dls = loaders.lm_dls(
        texts,
        valid_pct=0.05,
        bs=recipe["bs"],
        bptt=recipe["bptt"],
        seed=recipe["seed"],
        min_freq=recipe["min_freq"],
        max_vocab=recipe["max_vocab"],
        backwards=backwards,
        cache_dir=Path(dest) / "tokens",
    )
    vocab = dls.train_ds.vocab
    model = models.language_model(vocab, drop_mult=recipe["drop_mult"], **config)
    learn = Learner(
        model,
        dls,
        training.LMLoss(),
        opt_func=lm_adam,
        wd=0.01,
        metrics=[training.perplexity],
        cbs=[training.ResetState(), training.RNNRegularizer(), training.GradientClip(0.4)],
    )
    learn.fit_one_cycle(recipe["epochs"], recipe["lr"])
    shutil.rmtree(Path(dest) / "tokens", ignore_errors=True)
    info = dict(
        direction="backward" if backwards else "forward",
        corpus="python_corpus",
        tokens=dls.train.n_tokens,
        perplexity=round(learn.recorder.last_metrics["perplexity"], 2),
        seconds=round(time.time() - start, 1),
        recipe=recipe,
    )
    _write(dest, model.state_dict(), vocab, config, info)


def lm_adam(params, lr, weight_decay=0.01):
    """AdamW with the 2018 text lessons' betas (0.8, 0.99): less momentum, for a loss that moves a lot."""
    return torch.optim.AdamW(params, lr=lr, betas=(0.8, 0.99), eps=1e-6, weight_decay=weight_decay)


def _write(dest, state_dict, vocab, config, info):
    dest = Path(dest)
    torch.save({k: v.detach().cpu() if torch.is_tensor(v) else v for k, v in state_dict.items()}, dest / "model.pt")
    vocab.save(dest / "vocab.json")
    (dest / "config.json").write_text(json.dumps(config))
    (dest / "info.json").write_text(json.dumps(info, indent=1))  # written last: its presence means complete


def _read(dest):
    try:
        state_dict = torch.load(dest / "model.pt", map_location="cpu", weights_only=True)
        vocab = Vocab.load(dest / "vocab.json")
        config = json.loads((dest / "config.json").read_text())
        info = json.loads((dest / "info.json").read_text())
    except (OSError, ValueError, RuntimeError, pickle.UnpicklingError) as e:
        raise RuntimeError(
            f"The cached language model in {dest} is damaged ({type(e).__name__}: {e}). Delete that "
            "folder, or call general_lm(..., force=True), to make it again."
        ) from None
    return PretrainedLM(state_dict, vocab.itos, config, info, dest)


class _ListOfStrings(pickle.Unpickler):
    """Unpickles ``itos_wt103.pkl`` (a list of strings) and refuses anything else: no code runs on load."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a vocabulary file (only a list of strings)")


# fastai 0.7's special tokens, and ours for the same thing: transfer_vocab then carries their rows over too
OLD_SPECIALS = {
    "_unk_": "xxunk",
    "_pad_": "xxpad",
    "xbos": "xxbos",
    "xfld": "xxfld",
    "t_up": "xxup",
    "tk_rep": "xxrep",
    "tk_wrep": "xxwrep",
}


def read_itos(path):
    """The 2018 vocabulary file (a pickled list of strings), its special tokens renamed to ours."""
    with open(path, "rb") as f:
        itos = _ListOfStrings(f).load()
    if not isinstance(itos, list) or not all(isinstance(s, str) for s in itos):
        raise ValueError(f"{path} is not a pickled list of strings, as itos_wt103.pkl is; download it again.")
    return [OLD_SPECIALS.get(s, s) for s in itos]


def _wt103(backwards, force):
    folder = data_dir() / "models" / "wt103"
    weights = PRETRAINED["bwd_wt103.h5" if backwards else "fwd_wt103.h5"]
    itos_file = download_url(PRETRAINED["itos_wt103.pkl"].url, folder / "itos_wt103.pkl", force=force)
    weights_file = download_url(weights.url, folder / weights.name, force=force)
    itos = read_itos(itos_file)
    raw = torch.load(weights_file, map_location="cpu", weights_only=True)
    info = dict(direction="backward" if backwards else "forward", corpus="WikiText-103", tokens=103_000_000)
    return PretrainedLM(transfer.convert_wt103(raw), itos, dict(transfer.WT103_CONFIG), info, folder)


def main():
    """``python -m coursekit.text.pretrained``: make (or find) both general models for the data mode, as
    ``make nbs`` does before the text lessons run, so no notebook waits for pretraining."""
    mode = get_mode()
    for backwards in (False, True):
        print(general_lm(mode, backwards=backwards))


if __name__ == "__main__":
    main()
