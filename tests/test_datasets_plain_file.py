"""Full mode for a dataset that is one plain file, not an archive (lesson 7's nietzsche.txt), server on 127.0.0.1."""

import hashlib

import pytest

from coursekit import datasets, registry

TEXT = b"PREFACE\n\nSUPPOSING that Truth is a woman--what then?\n"


def test_a_plain_file_is_downloaded_verified_and_kept_as_is(data, server, monkeypatch, capsys):
    base, files, log = server
    files["/words.txt"] = TEXT
    info = registry.DatasetInfo(
        "words", f"{base}/words.txt", size=len(TEXT), sha256=hashlib.sha256(TEXT).hexdigest(), lesson=7
    )
    monkeypatch.setitem(datasets.DATASETS, "words", info)
    path = datasets.get_data("words", mode="full")
    assert path == data / "words" and (path / "words.txt").read_bytes() == TEXT
    assert (path / datasets.COMPLETE).exists()  # complete: the next call makes no request
    assert datasets.get_data("words", mode="full") == path and log == ["/words.txt"]
    assert sorted(p.name for p in (data / "archives").iterdir()) == ["words.txt"]  # no half-made folders
    capsys.readouterr()


def test_a_plain_file_with_the_wrong_checksum_is_not_cached(data, server, monkeypatch, capsys):
    base, files, _ = server
    files["/words.txt"] = TEXT
    info = registry.DatasetInfo("words", f"{base}/words.txt", size=len(TEXT), sha256="0" * 64, lesson=7)
    monkeypatch.setitem(datasets.DATASETS, "words", info)
    with pytest.raises(Exception, match="words.txt"):
        datasets.get_data("words", mode="full")
    assert not (data / "words").exists()
    capsys.readouterr()


def test_nietzsche_is_registered_as_a_plain_file_with_the_sample_layout():
    info = datasets.DATASETS["nietzsche"]
    assert info.url.endswith("/nietzsche.txt") and info.sha256 and info.size == 600901
    assert datasets.layout("nietzsche", "full") == datasets.layout("nietzsche", "sample") == {"text": "nietzsche.txt"}
