"""ULMFiT transfer: the 2018 WikiText-103 language model's weights in coursekit's names, and a pretrained
model's embedding rows carried over to a new vocabulary.

The weights published for the 2018 course (``fwd_wt103.h5`` with ``itos_wt103.pkl``, from
files.fast.ai/models/wt103/) are a fastai 0.7 ``get_language_model`` state dict: an ``RNN_Encoder`` (``0.``)
and a ``LinearDecoder`` without bias (``1.``), emb_sz 400, n_hid 1150, 3 layers, a vocabulary of 238,462.
fastai 0.7's ``WeightDrop`` deleted each LSTM's ``weight_hh_l0`` Parameter and registered the undropped
matrix as ``weight_hh_l0_raw``; ``EmbeddingDropout`` wraps the embedding, so its weight is saved twice::

    0.encoder.weight                          (238462, 400)   the embedding
    0.encoder_with_dropout.embed.weight       (238462, 400)   the same matrix again
    0.rnns.{i}.module.weight_ih_l0            (4*n_out, n_in)   n_in: 400, 1150, 1150
    0.rnns.{i}.module.weight_hh_l0_raw        (4*n_out, n_out)  n_out: 1150, 1150, 400
    0.rnns.{i}.module.bias_ih_l0              (4*n_out,)
    0.rnns.{i}.module.bias_hh_l0              (4*n_out,)
    1.decoder.weight                          (238462, 400)   tied to the embedding

(checked against fastai 0.7's ``lm_rnn.py`` and ``rnn_reg.py``, and the 2018 lesson 10 notebook, which
overwrites exactly ``0.encoder.weight``, ``0.encoder_with_dropout.embed.weight`` and ``1.decoder.weight``).
"""

import torch

from coursekit.text.vocab import fingerprint_of

WT103_CONFIG = dict(emb_sz=400, n_hid=1150, n_layers=3)  # language_model(len(itos), **WT103_CONFIG)
WT103_VOCAB_SZ = 238462
EMBEDDING, DECODER, DECODER_BIAS = "encoder.embedding.weight", "decoder.linear.weight", "decoder.linear.bias"
EXTRA_STATE = "encoder._extra_state"  # the encoder's vocabulary fingerprint (vocab.CarriesVocab)
LSTM_NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def convert_wt103(state_dict, n_layers=3):
    """A fastai 0.7 AWD-LSTM language model's state dict (the 2018 ``fwd_wt103.h5``) as a state dict for
    ``models.language_model(vocab_sz, **WT103_CONFIG)`` (with its default ``bias=True``).

    The decoder had no bias: it starts at zero. Tensors are not copied. A key that is missing or not
    understood is an error naming it.
    """
    src = dict(state_dict)
    out, used = {}, set()

    def take(name):
        if name not in src:
            raise KeyError(
                f"The WikiText-103 state dict has no {name!r}; it has {len(src)} keys, e.g. "
                f"{sorted(src)[:6]}. Is it a fastai 0.7 language model (fwd_wt103.h5 / bwd_wt103.h5)?"
            )
        used.add(name)
        return src[name]

    emb = take("0.encoder.weight")
    dup = src.get("0.encoder_with_dropout.embed.weight")
    if dup is not None:
        used.add("0.encoder_with_dropout.embed.weight")
        if dup.shape != emb.shape:
            raise ValueError(
                f"0.encoder_with_dropout.embed.weight is {tuple(dup.shape)} but 0.encoder.weight is "
                f"{tuple(emb.shape)}: they should be the same matrix."
            )
    decoder = take("1.decoder.weight")
    if decoder.shape != emb.shape:
        raise ValueError(
            f"1.decoder.weight is {tuple(decoder.shape)} but the embedding is {tuple(emb.shape)}: "
            "coursekit's language model ties them, so they must have the same shape."
        )
    out[EMBEDDING], out[DECODER] = emb, decoder  # equal when the model was trained tied; the model keeps one
    out[DECODER_BIAS] = src.get("1.decoder.bias", torch.zeros(emb.shape[0], dtype=emb.dtype, device=emb.device))
    used.add("1.decoder.bias")
    for i in range(n_layers):
        for name in LSTM_NAMES:
            old = f"0.rnns.{i}.module.{name}" + ("_raw" if name == "weight_hh_l0" else "")
            out[f"encoder.rnns.{i}.lstm.{name}"] = take(old)
        used.add(f"0.rnns.{i}.module.weight_hh_l0")  # the dropped copy, in files saved mid-training: not needed
    unknown = sorted(set(src) - used)
    if unknown:
        raise ValueError(
            f"The WikiText-103 state dict has {len(unknown)} keys the converter does not know: "
            f"{unknown[:6]}. Is n_layers={n_layers} right?"
        )
    return out


def transfer_vocab(state_dict, old_itos, new_itos):
    """A language model's state dict re-indexed from vocabulary ``old_itos`` to ``new_itos``.

    Each token of the new vocabulary found in the old one keeps its row (embedding, tied decoder weight and
    decoder bias); the others start at the mean row (mean bias). Other weights are kept as they are; the input
    is not changed. ``len(new_itos)`` is the vocabulary size of the model to load it into; the result carries
    ``new_itos``'s fingerprint, so it loads only into a model of that vocabulary.
    """
    emb = state_dict[EMBEDDING]
    if emb.shape[0] != len(old_itos):
        raise ValueError(
            f"The embedding has {emb.shape[0]} rows but old_itos has {len(old_itos)} tokens: pass the "
            "vocabulary the model was trained with."
        )
    old_stoi = {}
    for i, token in enumerate(old_itos):
        old_stoi.setdefault(token, i)  # a repeated token: its first row
    idx = torch.tensor([old_stoi.get(token, -1) for token in new_itos], dtype=torch.long, device=emb.device)
    found = idx >= 0

    def remap(w):
        rows = w[idx.clamp(min=0)].clone()  # (len(new_itos), ...) rows of the old matrix
        rows[~found] = w.float().mean(0).to(w.dtype)
        return rows

    out = dict(state_dict)
    out[EMBEDDING] = remap(emb)
    if DECODER in state_dict:
        out[DECODER] = remap(state_dict[DECODER])  # tied models: equal to the embedding's rows
    if DECODER_BIAS in state_dict:
        out[DECODER_BIAS] = remap(state_dict[DECODER_BIAS])
    out[EXTRA_STATE] = {"vocab_fingerprint": fingerprint_of(new_itos)}  # the weights belong to new_itos now
    return out


def vocab_overlap(old_itos, new_itos):
    """How many tokens of ``new_itos`` the old vocabulary has (their rows are transferred), and how many in all."""
    old = set(old_itos)
    return sum(token in old for token in new_itos), len(new_itos)
