"""Data modes, the sample cache and the full-data path (against a server on 127.0.0.1 only)."""

import hashlib
import io
import socket
import tarfile
from pathlib import Path

import pytest

from coursekit import datasets, registry, samples
from coursekit.downloads import DownloadError, OfflineError


@pytest.fixture
def sample(monkeypatch):
    """Register a tiny sample generator that records its calls."""
    calls = []

    def make(dest, seed):
        calls.append(seed)
        (dest / "file.txt").write_text(f"seed {seed}")

    monkeypatch.setitem(samples.SAMPLES, "tiny_test", samples.Sample(make))
    return calls


def test_mode_from_argument_environment_and_auto(monkeypatch):
    monkeypatch.delenv("COURSEKIT_MODE", raising=False)
    assert datasets.get_mode("full") == "full"
    assert datasets.get_mode("auto") in ("sample", "full")
    assert datasets.get_mode(None) == datasets.get_mode("auto")
    monkeypatch.setenv("COURSEKIT_MODE", "Sample")
    assert datasets.get_mode("full") == "sample"  # the environment wins
    monkeypatch.setenv("COURSEKIT_MODE", "fast")
    with pytest.raises(ValueError, match="'sample', 'small', 'full', 'auto'"):
        datasets.get_mode()
    assert "sample" in datasets.describe_mode("sample") and "COURSEKIT_MODE=full" in datasets.describe_mode("sample")


def test_data_dir_follows_the_environment(data):
    assert datasets.data_dir() == data and data.is_dir()


def test_sample_is_generated_once_then_cached(data, sample):
    first = datasets.get_data("tiny_test", mode="sample")
    second = datasets.get_data("tiny_test", mode="sample")
    assert first == second == data / "sample" / "tiny_test"
    assert (first / "file.txt").read_text() == "seed 0" and sample == [0]
    datasets.get_data("tiny_test", mode="sample", seed=3)
    assert sample == [0, 3]
    datasets.get_data("tiny_test", mode="sample", force=True)
    assert sample == [0, 3, 0]
    assert sorted(p.name for p in (data / "sample").iterdir()) == [  # no temporary folders; a lock file each
        "tiny_test",
        "tiny_test-seed3",
        "tiny_test-seed3.lock",
        "tiny_test.lock",
    ]


def test_a_changed_generator_version_regenerates(data, sample, monkeypatch):
    datasets.get_data("tiny_test", mode="sample")
    monkeypatch.setattr(datasets, "SAMPLE_VERSION", "changed")
    datasets.get_data("tiny_test", mode="sample")
    assert sample == [0, 0]


def test_interrupted_generation_is_not_taken_for_data(data, monkeypatch):
    def make(dest, seed):
        (dest / "half.txt").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setitem(samples.SAMPLES, "broken_test", samples.Sample(make))
    with pytest.raises(KeyboardInterrupt):
        datasets.get_data("broken_test", mode="sample")
    assert [p.name for p in (data / "sample").iterdir()] == ["broken_test.lock"]


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(KeyError, match="Unknown dataset 'dogs_and_ponies': use one of .*dogscats") as e:
        datasets.get_data("dogs_and_ponies", mode="sample")
    assert "oxford_pets" in str(e.value) and "path" in str(e.value)


def test_a_folder_you_already_have_is_returned_as_is(tmp_path):
    assert datasets.get_data(tmp_path, mode="full") == tmp_path
    with pytest.raises(FileNotFoundError):
        datasets.get_data(tmp_path / "missing")


def test_a_folder_given_as_a_string_is_a_folder_too(tmp_path, monkeypatch):
    assert datasets.get_data(str(tmp_path), mode="full") == tmp_path
    (tmp_path / "images").mkdir()
    monkeypatch.chdir(tmp_path)
    assert datasets.get_data("images") == Path("images")  # an existing folder, no separator
    with pytest.raises(FileNotFoundError, match="No data folder no/such/folder: it does not exist") as e:
        datasets.get_data("no/such/folder", mode="sample")
    assert str(tmp_path) in str(e.value) and "dogscats" in str(e.value)  # where relative paths start; the names


def test_a_file_given_for_a_folder_says_it_is_a_file(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(b"jpeg")
    for given in (tmp_path / "photo.jpg", str(tmp_path / "photo.jpg")):
        with pytest.raises(NotADirectoryError, match="photo.jpg is a file, not a folder") as e:
            datasets.get_data(given)
        assert str(tmp_path) in str(e.value)  # the folder it is in, as the likely fix


def make_tgz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_full_mode_downloads_verifies_extracts_once(data, server, monkeypatch, capsys):
    base, files, log = server
    archive = make_tgz({"toy/train/cats/1.txt": b"meow", "toy/train/dogs/1.txt": b"woof"})
    files["/toy.tgz"] = archive
    info = registry.DatasetInfo(
        "toy", f"{base}/toy.tgz", size=len(archive), md5=hashlib.md5(archive).hexdigest(), folder="toy", lesson=1
    )
    monkeypatch.setitem(datasets.DATASETS, "toy", info)
    path = datasets.get_data("toy", mode="full")
    assert path == data / "toy" and (path / "train" / "dogs" / "1.txt").read_bytes() == b"woof"
    assert datasets.get_data("toy", mode="full") == path and log == ["/toy.tgz"]  # cached: no second request
    assert sorted(p.name for p in (data / "archives").iterdir()) == ["toy.tgz"]  # no temporary folders
    assert "toy" in datasets.list_datasets() and "cached" in datasets.list_datasets()
    capsys.readouterr()


@pytest.fixture
def toy(server, monkeypatch):
    """A registered dataset 'toy' with no checksum (like movielens), served at /toy.tgz."""
    base, files, log = server
    files["/toy.tgz"] = make_tgz({"toy/a.txt": b"first"})
    info = registry.DatasetInfo("toy", f"{base}/toy.tgz", folder="toy", lesson=1)
    monkeypatch.setitem(datasets.DATASETS, "toy", info)
    return files, log


HTML = b"<!DOCTYPE html><html><body>Mirror maintenance: back soon</body></html>"
NOISE = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(3000))  # 96 KB that gzip cannot shrink


def test_a_page_instead_of_an_archive_is_not_cached(data, toy):
    files, log = toy
    good, files["/toy.tgz"] = files["/toy.tgz"], HTML
    with pytest.raises(DownloadError, match="neither a zip nor a tar archive: it begins with '<!DOCTYPE html>") as e:
        datasets.get_data("toy", mode="full")
    assert "nothing was cached" in str(e.value) and "Call again" in str(e.value)
    assert list((data / "archives").iterdir()) == [] and not (data / "toy").exists()
    files["/toy.tgz"] = good  # the mirror is back: the next call downloads, no force needed
    assert (datasets.get_data("toy", mode="full") / "a.txt").read_bytes() == b"first"


@pytest.mark.parametrize("bad", [HTML, make_tgz({"toy/a.txt": NOISE})[:50_000]], ids=["page", "truncated"])
def test_an_archive_that_fails_to_extract_is_deleted_and_said_so(data, toy, bad):
    archive = data / "archives" / "toy.tgz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(bad)  # cached by an older coursekit, or copied in by hand
    with pytest.raises(DownloadError, match="toy.tgz") as e:
        datasets.get_data("toy", mode="full")
    assert "The archive was deleted from the cache: call get_data('toy', mode='full') again" in str(e.value)
    assert ("damaged gzip archive" if bad != HTML else "neither a zip nor a tar") in str(e.value)
    assert not archive.exists() and not (data / "toy").exists()
    assert (datasets.get_data("toy", mode="full") / "a.txt").read_bytes() == b"first"  # fetched again


def test_force_downloads_a_full_dataset_again(data, toy, capsys):
    files, log = toy
    datasets.get_data("toy", mode="full")
    files["/toy.tgz"] = make_tgz({"toy/a.txt": b"second"})  # changed upstream (no checksum pins it)
    assert (datasets.get_data("toy", mode="full") / "a.txt").read_bytes() == b"first" and len(log) == 1
    path = datasets.get_data("toy", mode="full", force=True)
    assert (path / "a.txt").read_bytes() == b"second" and len(log) == 2
    assert sorted(p.name for p in data.iterdir()) == ["archives", "toy", "toy.lock"]
    capsys.readouterr()


def test_full_mode_offline_fails_at_once_with_the_way_out(data, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("COURSEKIT_MIRROR", f"http://127.0.0.1:{port}")  # stands in for "no network"
    with pytest.raises(OfflineError, match="sample") as e:
        datasets.get_data("dogscats", mode="full")
    assert str(data / "archives" / "dogscats.tgz") in str(e.value)
    assert not (data / "dogscats").exists()


def test_registry_entries_are_complete_and_listed():
    for info in datasets.DATASETS.values():
        assert info.url.startswith(("http://", "https://")) and info.lesson
        assert info.md5 or info.sha256 or info.size is None  # a published size comes with a checksum
    table = datasets.list_datasets()
    assert "dogscats" in table and "oxford_pets" in table
    assert "dogscats" in repr(datasets.DATASETS["dogscats"]) and "md5" in repr(datasets.DATASETS)


def test_sample_and_full_layouts_name_the_same_files():
    """A loader asks datasets.layout for its file names: sample and full data must offer the same keys."""
    for name, info in datasets.DATASETS.items():
        if info.layout and name in samples.SAMPLES:
            assert set(info.layout) == set(samples.SAMPLES[name].layout), name
