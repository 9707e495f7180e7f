"""General language models: the offline model pretrained on Python's text, its cache, and the 2018 WikiText-103
files (full mode) read through a local mirror folder. A tiny recipe keeps every training under a second."""

import json
import pickle
import shutil

import pytest
import torch

from coursekit.downloads import DownloadError
from coursekit.text import models, pretrained, reading, transfer
from coursekit.text.tokenize import SPECIALS
from coursekit.text.vocab import Vocab

TINY_RECIPE = dict(epochs=1, bs=8, bptt=20, max_vocab=300)
TINY_CONFIG = dict(emb_sz=16, n_hid=32, n_layers=2)
CACHE_FILES = {"model.pt", "vocab.json", "config.json", "info.json"}


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/text/conftest.py


def some_python_texts():
    """24 real texts from Python's reference manual (about 16,000 tokens): the corpus, in small."""
    from pydoc_data.topics import topics

    return [topics[k] for k in sorted(topics)[:24]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny forward model written by ``train_python_lm``, for the tests that read a finished folder."""
    dest = tmp_path_factory.mktemp("python_lm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reading, "python_corpus", lambda docstrings=True: some_python_texts())
        torch.set_num_threads(1)
        pretrained.train_python_lm(dest, recipe=TINY_RECIPE, config=TINY_CONFIG)
    return dest


@pytest.fixture
def fake_training(monkeypatch, trained):
    """``general_lm`` with the corpus and the training replaced: training copies the tiny model in, and each
    call is counted (``backwards`` flag per call)."""
    calls = []

    def copy_in(dest, backwards=False, recipe=None, config=None):
        calls.append(backwards)
        for name in CACHE_FILES:
            shutil.copy(trained / name, dest / name)

    monkeypatch.setattr(reading, "python_corpus", lambda docstrings=True: some_python_texts())
    monkeypatch.setattr(pretrained, "train_python_lm", copy_in)
    return calls


def test_train_python_lm_writes_weights_vocab_settings_and_facts(trained):
    assert {p.name for p in trained.iterdir()} == CACHE_FILES  # the token cache is removed once trained
    info = json.loads((trained / "info.json").read_text())
    assert info["direction"] == "forward" and info["corpus"] == "python_corpus"
    assert info["tokens"] > 10_000 and 1 < info["perplexity"] < 300  # one epoch learns something
    assert info["recipe"] == {**pretrained.PYTHON_LM_RECIPE, **TINY_RECIPE}  # the defaults, overridden
    assert json.loads((trained / "config.json").read_text()) == {**pretrained.PYTHON_LM_CONFIG, **TINY_CONFIG}
    vocab = Vocab.load(trained / "vocab.json")
    assert vocab.itos[: len(SPECIALS)] == SPECIALS and len(vocab) <= 300 and "the" in vocab.stoi
    state = torch.load(trained / "model.pt", weights_only=True)
    assert state[transfer.EMBEDDING].shape == (len(vocab), 16)


def test_general_lm_trains_once_then_reads_the_cache(data, fake_training):
    lm = pretrained.general_lm("sample")
    assert fake_training == [False]
    assert lm.folder.parent == data / "models" and lm.folder.name.startswith("python_lm-fwd-")
    assert {p.name for p in lm.folder.iterdir()} == CACHE_FILES
    assert not [p for p in lm.folder.parent.iterdir() if ".training-" in p.name]  # no half-made folder left
    model = lm.model()
    assert isinstance(model, models.LanguageModel)
    assert model.encoder.embedding.weight.shape == (len(lm.itos), 16)
    assert model.decoder.linear.weight is model.encoder.embedding.weight  # still tied after loading
    model.eval()
    ids = torch.tensor([[lm.itos.index(w) for w in ("xxbos", "the", "value", "of")]])
    assert model(ids).shape == (1, 4, len(lm.itos))
    text = repr(lm)
    for fact in ("forward", f"{len(lm.itos):,}-token vocab", "python_corpus", "perplexity", str(lm.folder)):
        assert fact in text

    again = pretrained.general_lm("sample")
    assert fake_training == [False]  # read from the cache, not trained again
    assert again.folder == lm.folder and again.itos == lm.itos
    assert all(
        torch.equal(again.state_dict[k], v) if torch.is_tensor(v) else again.state_dict[k] == v
        for k, v in lm.state_dict.items()
    )


def test_each_direction_and_each_recipe_has_its_own_cache(data, fake_training, monkeypatch):
    forward = pretrained.general_lm("sample")
    backward = pretrained.general_lm("sample", backwards=True)
    assert fake_training == [False, True]
    assert backward.folder.name.startswith("python_lm-bwd-") and backward.folder != forward.folder
    monkeypatch.setattr(pretrained, "PYTHON_LM_RECIPE", {**pretrained.PYTHON_LM_RECIPE, "epochs": 99})
    changed = pretrained.general_lm("sample")
    assert fake_training == [False, True, False]  # a new recipe trains a new model, beside the old one
    assert changed.folder != forward.folder and forward.folder.exists()
    pretrained.general_lm("sample", force=True)
    assert fake_training == [False, True, False, False]


def test_a_damaged_cache_says_which_folder_and_how_to_remake_it(data, fake_training):
    folder = pretrained.general_lm("sample").folder
    (folder / "model.pt").write_bytes(b"not a torch file")
    with pytest.raises(RuntimeError, match="damaged") as err:
        pretrained.general_lm("sample")
    assert str(folder) in str(err.value) and "force=True" in str(err.value)
    (folder / "vocab.json").write_text("{")  # another kind of damage: half-written JSON
    with pytest.raises(RuntimeError, match="damaged"):
        pretrained.general_lm("sample")
    repaired = pretrained.general_lm("sample", force=True)
    assert fake_training == [False, False] and repaired.model() is not None


class Shell:
    """Pickles as a call to ``print``: a vocabulary file must never run code when it is read."""

    def __reduce__(self):
        return (print, ("this should never be printed",))


def test_read_itos_refuses_anything_but_a_list_of_strings(tmp_path, capsys):
    bad = tmp_path / "itos.pkl"
    bad.write_bytes(pickle.dumps(["_unk_", "the", Shell()]))
    with pytest.raises(pickle.UnpicklingError, match="builtins.print is not allowed"):
        pretrained.read_itos(bad)
    assert "never be printed" not in capsys.readouterr().out
    for not_a_list in ({"_unk_": 0}, ["the", 3]):
        bad.write_bytes(pickle.dumps(not_a_list))
        with pytest.raises(ValueError, match="not a pickled list of strings"):
            pretrained.read_itos(bad)


def test_read_itos_renames_the_2018_special_tokens(tmp_path):
    path = tmp_path / "itos_wt103.pkl"
    path.write_bytes(pickle.dumps(["_unk_", "_pad_", "the", "xbos", "xfld", "t_up", "tk_rep", "tk_wrep", "up"]))
    assert pretrained.read_itos(path) == ["xxunk", "xxpad", "the", "xxbos", "xxfld", "xxup", "xxrep", "xxwrep", "up"]


def wt103_files(folder, itos, emb_sz, n_hid, n_layers=3, backwards=False):
    """A small stand-in for the 2018 files: fastai 0.7's names (see transfer.py), small shapes, torch.save'd."""
    torch.manual_seed(0)
    emb = torch.randn(len(itos), emb_sz)
    sd = {"0.encoder.weight": emb, "0.encoder_with_dropout.embed.weight": emb.clone(), "1.decoder.weight": emb.clone()}
    sizes = [emb_sz] + [n_hid] * (n_layers - 1) + [emb_sz]
    for i in range(n_layers):
        n_in, n_out = sizes[i], sizes[i + 1]
        sd[f"0.rnns.{i}.module.weight_ih_l0"] = torch.randn(4 * n_out, n_in)
        sd[f"0.rnns.{i}.module.weight_hh_l0_raw"] = torch.randn(4 * n_out, n_out)
        sd[f"0.rnns.{i}.module.bias_ih_l0"] = torch.randn(4 * n_out)
        sd[f"0.rnns.{i}.module.bias_hh_l0"] = torch.randn(4 * n_out)
    folder.mkdir(exist_ok=True)
    torch.save(sd, folder / ("bwd_wt103.h5" if backwards else "fwd_wt103.h5"))
    (folder / "itos_wt103.pkl").write_bytes(pickle.dumps(itos))
    return sd


def test_full_mode_copies_the_2018_files_from_a_mirror_converts_and_builds_a_model(data, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    itos = ["_unk_", "_pad_", "the", ".", ",", "xbos", "t_up", "movie", "film", "good"]
    sd = wt103_files(mirror, itos, emb_sz=8, n_hid=12)
    monkeypatch.setenv("COURSEKIT_MIRROR", str(mirror))
    monkeypatch.setattr(transfer, "WT103_CONFIG", dict(emb_sz=8, n_hid=12, n_layers=3))  # the small stand-in's
    lm = pretrained.general_lm("full")
    assert lm.folder == data / "models" / "wt103"
    assert {p.name for p in lm.folder.iterdir()} >= {"fwd_wt103.h5", "itos_wt103.pkl"}
    assert lm.itos[:3] == ["xxunk", "xxpad", "the"] and lm.itos[5:7] == ["xxbos", "xxup"]
    assert lm.info["corpus"] == "WikiText-103" and "WikiText-103" in repr(lm)
    model = lm.model()
    assert torch.equal(model.encoder.embedding.weight, sd["0.encoder.weight"])
    assert torch.equal(model.encoder.rnns[1].lstm.weight_hh_l0, sd["0.rnns.1.module.weight_hh_l0_raw"])
    assert torch.equal(model.decoder.linear.bias, torch.zeros(len(itos)))  # the 2018 decoder had no bias
    model.eval()
    assert model(torch.tensor([[5, 2, 7]])).shape == (1, 3, len(itos))

    shutil.rmtree(mirror)  # a second call reads the cached copies: no download
    assert pretrained.general_lm("full").itos == lm.itos
    with pytest.raises(DownloadError, match="bwd_wt103.h5"):
        pretrained.general_lm("full", backwards=True)  # the mirror lacks it: the error names the file
