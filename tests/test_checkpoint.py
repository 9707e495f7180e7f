"""Saving and loading a Learner's weights: round trip, all-or-nothing checks, errors that name the file."""

import re

import pytest
import torch
from torch import nn

from conftest import TinyNet
from coursekit.learner import Learner


def test_save_and_load_round_trip_model_and_optimizer(synth_learner):
    learn = synth_learner()
    learn.fit(1)
    file = learn.save("stage-1")
    assert file.exists() and not list(file.parent.glob("*.tmp"))
    other = synth_learner()
    other.load("stage-1")
    for a, b in zip(learn.model.state_dict().values(), other.model.state_dict().values()):
        assert torch.equal(a, b)
    assert other.opt.state_dict()["state"].keys() == learn.opt.state_dict()["state"].keys()
    with pytest.raises(FileNotFoundError, match="stage-1"):
        other.load("nope")


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_load_names_a_damaged_file_and_what_to_do(synth_learner, damage):
    learn = synth_learner()
    file = learn.save("stage-1")
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    before = weights(learn.model)
    with pytest.raises(
        ValueError,
        match=rf"{file}.* is damaged or is not a PyTorch checkpoint.*"
        rf"learn.save\('stage-1'\)",
    ):
        learn.load("stage-1")
    assert same_weights(before, weights(learn.model))


@pytest.mark.parametrize(
    "content, looks",
    [
        (
            b"<!DOCTYPE html>\n<html><head><title>Sign in</title>",
            "it is an HTML page: '<!DOCTYPE html> <html><head><title>Sign'...",
        ),
        (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a",
            "it is text: 'version https://git-lfs.github.com/spec/'...",
        ),
        (b"\x00\x01\x02junk" * 4, r"it starts with b'\x00\x01\x02junk\x00\x01\x02junk\x00\x01'"),
    ],
)
def test_load_of_a_web_page_or_other_file_saved_as_pth_says_damaged_not_pickled_objects(synth_learner, content, looks):
    learn = synth_learner()
    file = learn.save("stage-1")
    file.write_bytes(content)
    with pytest.raises(ValueError) as e:
        learn.load("stage-1")
    assert str(e.value) == (
        f"{file} is damaged or is not a PyTorch checkpoint ({len(content)} bytes; {looks}); a web page saved in its "
        "place, a save cut short, a full disk or a partial copy leave such files. Save it again with "
        "learn.save('stage-1'), copy or download it again, or load another one: ['stage-1']."
    )
    assert "weights_only=False" not in str(e.value)


def test_load_of_a_whole_pickled_model_still_says_so(synth_learner):
    learn = synth_learner()
    file = learn.save("stage-1")
    torch.save(nn.Linear(2, 2), file)  # a real checkpoint file, with objects besides tensors in it
    with pytest.raises(ValueError, match=r"stage-1.pth holds Python objects besides tensors \(a whole pickled model"):
        learn.load("stage-1")


def test_load_takes_a_plain_state_dict_as_model_weights(synth_learner, capsys):
    source, learn = synth_learner(), synth_learner()
    source.fit(1)
    folder = learn.path / learn.model_dir
    folder.mkdir()
    torch.save(source.model.state_dict(), folder / "plain.pth")
    learn.load("plain")
    assert same_weights(weights(source.model), weights(learn.model))
    assert "plain.pth holds model weights alone (a plain state_dict" in capsys.readouterr().out
    torch.save({"epoch": 3, "state_dict": source.model.state_dict()}, folder / "other.pth")
    with pytest.raises(
        ValueError,
        match=r"other.pth is not a checkpoint coursekit can read: it holds a dict with "
        r"keys \['epoch', 'state_dict'\]",
    ):
        learn.load("other")


def test_load_checks_everything_before_it_replaces_anything(synth_learner):
    one_group = synth_learner(layer_groups=lambda model: [model])
    one_group.fit(2)  # weights unlike learn's below
    one_group.save("one-group")
    learn = synth_learner()
    learn.fit(1)
    before = weights(learn.model)
    with pytest.raises(ValueError) as error:
        learn.load("one-group")
    assert same_weights(before, weights(learn.model))  # the model's weights were not replaced on the way
    assert re.search(
        r"one-group.pth was saved from a learner with other layer groups.*1 parameter group.*has 2.*"
        r"Nothing was loaded.*with_opt=False",
        str(error.value),
    )
    learn.load("one-group", with_opt=False)
    assert same_weights(weights(one_group.model), weights(learn.model))

    wider = Learner(TinyNet(n_out=5), learn.dls, nn.CrossEntropyLoss(), path=learn.path, device="cpu")
    wider.save("five-classes")
    with pytest.raises(RuntimeError) as error:
        learn.load("five-classes", with_opt=False)
    assert same_weights(weights(one_group.model), weights(learn.model))  # not even the body, whose shapes match
    assert re.search(
        r"five-classes.pth does not fit this model.*nothing was loaded.*\n  1.weight: \(5, 16\) in "
        r"the file, \(3, 16\) in the model",
        str(error.value),
        re.S,
    )


def test_save_where_model_dir_is_a_file_names_it(synth_learner):
    learn = synth_learner()
    (learn.path / "models").write_text("not a folder")
    with pytest.raises(
        NotADirectoryError,
        match=rf"Cannot save {learn.path / 'models' / 'x.pth'}: "
        rf"{learn.path / 'models'} is a file, not a folder.*model_dir",
    ):
        learn.save("x")


def test_save_into_an_unwritable_folder_names_the_file(synth_learner, monkeypatch):
    def refuse(obj, f, *args, **kwargs):  # what torch.save says for a read-only folder: no file name
        raise RuntimeError(
            "[enforce fail at inline_container.cc:747] . open file failed with strerror: Permission denied"
        )

    learn = synth_learner()
    monkeypatch.setattr(torch, "save", refuse)
    folder = learn.path / "models"
    with pytest.raises(
        OSError,
        match=rf"Could not save {folder / 'stage-1.pth'} \(RuntimeError: .*Permission "
        rf"denied\). Check that the folder {folder} is writable",
    ):
        learn.save("stage-1")
    assert not list(folder.iterdir())  # no half-written file left behind
