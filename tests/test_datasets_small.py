"""The ``small`` data mode: real data found in the cache or a named folder, downloaded only when small and asked
for, lesson layouts built from it, and ``auto`` choosing it on a CPU only when it is here (a fake small-data
folder in tmp_path; downloads from 127.0.0.1 only)."""

import hashlib
import io
import tarfile
from pathlib import Path

import pytest
import torch

from coursekit import datasets, registry, small, small_builders


@pytest.fixture
def cpu(data, monkeypatch):
    """An empty cache, no COURSEKIT_SMALL_DATA, and no GPU."""
    monkeypatch.delenv(small.ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return data


def shared_folder(tmp_path, monkeypatch):
    """A folder laid out like ../shared/data with a ratings file and a few pets photos, named by the setting."""
    root = tmp_path / "shared"
    (root / "movie_lens_sample").mkdir(parents=True)
    (root / "movie_lens_sample" / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,2,4.0,0\n")
    images = root / "pets" / "images"
    images.mkdir(parents=True)
    for breed, n in (("Abyssinian", 12), ("Bengal", 8), ("american_bulldog", 10)):
        for i in range(n):
            (images / f"{breed}_{i}.jpg").write_bytes(f"{breed} photo {i}".encode())
    (images / "notes.txt").write_text("not a photo")
    monkeypatch.setenv(small.ENV, str(root))
    return root


def test_auto_is_small_on_a_cpu_when_the_lessons_small_data_is_here(cpu, tmp_path, monkeypatch, capsys):
    assert datasets.get_mode("auto", "movielens") == "sample"  # nothing here yet
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "sample mode" in out and small.ENV in out and "movie_lens_sample" in out
    shared_folder(tmp_path, monkeypatch)
    assert datasets.get_mode("auto", "movielens") == "small"
    assert datasets.get_mode("auto", "lsun_bedroom") == "sample"  # no small version: sample, as before
    assert datasets.get_mode("auto") == "sample"  # a notebook that names no dataset
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert datasets.get_mode("auto", "movielens") == "full"
    monkeypatch.setenv("COURSEKIT_MODE", "small")
    assert datasets.get_mode("auto", "planet") == "small"  # the environment wins
    assert "small" in datasets.describe_mode("small") and "'full'" in datasets.describe_mode("small")


def test_a_lesson_with_no_small_data_runs_its_sample_in_small_mode_and_says_why(cpu, tmp_path, monkeypatch, capsys):
    shared_folder(tmp_path, monkeypatch)
    for mode in ("small", "auto"):  # auto on a CPU, and small asked for: the generated sample, with one line
        assert datasets.get_mode(mode, "rossmann") == "sample"
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and "no small Rossmann" in out and "sample" in out, mode
    assert datasets.get_mode("sample", "rossmann") == "sample" and capsys.readouterr().out == ""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert datasets.get_mode("auto", "rossmann") == "full"
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    (nbs / "lesson05_tabular.ipynb").write_text("{}")
    run, skipped = small.notebooks(nbs, cpu)
    assert run == [] and "no small Rossmann" in skipped[nbs / "lesson05_tabular.ipynb"]


def test_small_reads_the_named_folder_as_it_is_with_its_own_layout(cpu, tmp_path, monkeypatch):
    root = shared_folder(tmp_path, monkeypatch)
    assert datasets.get_data("movielens", mode="small") == root / "movie_lens_sample"
    assert datasets.layout("movielens", "small") == {"ratings": "ratings.csv", "movies": None}  # no titles there
    assert datasets.layout("movielens", "sample")["movies"] == "movies.csv"
    assert set(datasets.layout("movielens", "small")) == set(datasets.layout("movielens", "sample"))


def test_the_cache_comes_before_the_named_folder(cpu, tmp_path, monkeypatch):
    shared_folder(tmp_path, monkeypatch)
    cached = cpu / "movie_lens_sample"
    cached.mkdir(parents=True)
    (cached / datasets.COMPLETE).write_text("downloaded earlier")
    assert datasets.get_data("movielens", mode="small") == cached
    (cached / datasets.COMPLETE).unlink()  # half a download is not data
    assert datasets.get_data("movielens", mode="small") == tmp_path / "shared" / "movie_lens_sample"


def test_explicit_small_with_nothing_here_says_what_to_do_and_never_fetches_pets(cpu):
    with pytest.raises(FileNotFoundError) as e:
        datasets.get_data("dogscats", mode="small")
    message = str(e.value)
    assert "datasets.get_data('oxford_pets', mode='full')" in message and "774.1 MB" in message
    assert f"set {small.ENV} to a folder holding it as pets/" in message
    assert not (cpu / "archives").exists()  # nothing was downloaded
    with pytest.raises(KeyError, match="'lsun_bedroom' has no small version yet .*camvid.*use mode='sample'"):
        datasets.get_data("lsun_bedroom", mode="small")


def make_tgz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            t.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def test_explicit_small_downloads_a_small_source_and_auto_never_does(cpu, server, monkeypatch, capsys):
    base, files, log = server
    archive = make_tgz({"movie_lens_sample/ratings.csv": b"userId,movieId,rating,timestamp\n1,2,4.0,0\n"})
    files["/movie_lens_sample.tgz"] = archive
    info = registry.DatasetInfo(
        "movie_lens_sample", f"{base}/movie_lens_sample.tgz", size=len(archive),
        md5=hashlib.md5(archive).hexdigest(), folder="movie_lens_sample", lesson=6,
    )  # fmt: skip
    monkeypatch.setitem(datasets.DATASETS, "movie_lens_sample", info)
    assert datasets.get_mode("auto", "movielens") == "sample" and log == []  # auto on a CPU: no download
    assert "run with mode='small' to download it" in capsys.readouterr().out
    path = datasets.get_data("movielens", mode="small")
    assert path == cpu / "movie_lens_sample" and (path / "ratings.csv").read_text().startswith("userId")
    assert log == ["/movie_lens_sample.tgz"]
    assert datasets.get_mode("auto", "movielens") == "small"  # now in the cache
    monkeypatch.setattr(small, "DOWNLOAD_LIMIT", len(archive) - 1)  # a larger source is never fetched by itself
    (path / datasets.COMPLETE).unlink()
    with pytest.raises(FileNotFoundError, match="mode='full'"):
        datasets.get_data("movielens", mode="small")
    assert log == ["/movie_lens_sample.tgz"]
    capsys.readouterr()


def test_lesson_one_layout_is_built_once_from_real_pets_photos(cpu, tmp_path, monkeypatch):
    root = shared_folder(tmp_path, monkeypatch)
    path = datasets.get_data("dogscats", mode="small")
    assert path == cpu / "small" / "dogscats"
    found = {split: {c: sorted(p.name for p in (path / split / c).iterdir()) for c in ("cats", "dogs")}
             for split in ("train", "valid")}  # fmt: skip
    cats = found["train"]["cats"] + found["valid"]["cats"]
    dogs = found["train"]["dogs"] + found["valid"]["dogs"]
    assert len(cats) == 20 and all(n[0].isupper() for n in cats)  # every cat photo there is (under per_class)
    assert len(dogs) == 10 and all(n[0].islower() for n in dogs)
    assert len(found["valid"]["cats"]) == 5 and len(found["valid"]["dogs"]) == 2  # valid_pct=0.25, rounded
    assert not set(found["train"]["cats"]) & set(found["valid"]["cats"])
    name = found["valid"]["dogs"][0]
    assert (path / "valid" / "dogs" / name).read_bytes() == (root / "pets" / "images" / name).read_bytes()
    assert datasets.layout("dogscats", "small") == datasets.layout("dogscats", "sample")  # the same loader reads it
    stamp = (path / small.STAMP).stat().st_mtime_ns
    assert datasets.get_data("dogscats", mode="small") == path and (path / small.STAMP).stat().st_mtime_ns == stamp


def test_the_pets_subset_is_fixed_and_balanced(tmp_path):
    images = tmp_path / "pets" / "images"
    images.mkdir(parents=True)
    for breed in ("Bengal", "beagle"):
        for i in range(300):
            (images / f"{breed}_{i}.jpg").write_bytes(b"x")
    small_builders.pets_cats_dogs(tmp_path / "pets", tmp_path / "a")
    small_builders.pets_cats_dogs(tmp_path / "pets", tmp_path / "b")
    listing = lambda root: sorted(str(p.relative_to(root)) for p in root.rglob("*.jpg"))
    assert listing(tmp_path / "a") == listing(tmp_path / "b")  # the same photos every time
    assert len(list((tmp_path / "a" / "train" / "cats").iterdir())) == 75
    assert len(list((tmp_path / "a" / "valid" / "dogs").iterdir())) == 25
    with pytest.raises(FileNotFoundError, match="No .jpg photos in"):
        small_builders.pets_cats_dogs(tmp_path / "a", tmp_path / "c")


def test_the_small_runs_list_skips_each_notebook_with_its_reason(cpu, tmp_path, monkeypatch):
    monkeypatch.setattr(small, "NOTEBOOKS", {"lesson01_dogs_cats": "dogscats", "lesson06_collab": "movielens"})
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for stem in ("lesson01_dogs_cats", "lesson02_multilabel", "lesson06_collab"):
        (nbs / f"{stem}.ipynb").write_text("{}")
    run, skipped = small.notebooks(nbs, cpu)
    assert run == [] and len(skipped) == 3
    assert "no small mode yet" in skipped[nbs / "lesson02_multilabel.ipynb"]
    assert small.ENV in skipped[nbs / "lesson06_collab.ipynb"]
    shared_folder(tmp_path, monkeypatch)
    run, skipped = small.notebooks(nbs, cpu)
    assert run == [nbs / "lesson01_dogs_cats.ipynb", nbs / "lesson06_collab.ipynb"] and len(skipped) == 1


def test_small_registry_entries_carry_fastais_published_size_and_md5():
    for name in ("movie_lens_sample", "imdb_sample", "adult_sample", "mnist_tiny", "coco_tiny", "camvid_tiny"):
        info = datasets.DATASETS[name]
        assert info.size < small.DOWNLOAD_LIMIT and len(info.md5) == 32 and info.folder == name, name
    assert datasets.DATASETS["eng_fra"].md5 is None and datasets.DATASETS["eng_fra"].size is None  # none published
    for name, spec in small.SMALL.items():
        assert spec.source in datasets.DATASETS and name in datasets.samples.SAMPLES, name
    assert set(small.NOTEBOOKS.values()) <= set(small.SMALL)


def test_each_notebook_listed_for_small_mode_asks_for_it_and_has_small_floors():
    """make small runs the notebooks in small.NOTEBOOKS: each must pass its dataset to get_mode (so auto can choose
    small) and give report_final_metrics floors of its own for small mode."""
    import json

    nbs = Path(__file__).resolve().parents[1] / "nbs"
    for stem, name in small.NOTEBOOKS.items():
        source = "".join("".join(c["source"]) for c in json.loads((nbs / f"{stem}.ipynb").read_text())["cells"])
        assert f'datasets.get_mode(mode, "{name}")' in source, stem
        assert '"small":' in source and "report_final_metrics" in source, stem  # a dict of floors, or a name for one


def test_lesson_2b_breeds_layout_is_kaggles_built_from_the_pets_file_names(cpu, tmp_path, monkeypatch):
    shared_folder(tmp_path, monkeypatch)
    path = datasets.get_data("dogbreeds", mode="small")
    assert path == cpu / "small" / "dogbreeds"
    rows = [line.split(",") for line in (path / "labels.csv").read_text().splitlines()]
    assert rows[0] == ["id", "breed"] and len(rows) == 31  # every photo, none of notes.txt
    breeds = [b for _, b in rows[1:]]
    assert {b: breeds.count(b) for b in set(breeds)} == {"abyssinian": 12, "bengal": 8, "american_bulldog": 10}
    ids = [i for i, _ in rows[1:]]
    assert len(set(ids)) == 30 and not any(b in i for i in ids for b in ("abyss", "bengal", "bulldog"))  # opaque
    by_id = dict(rows[1:])
    for i in ids:  # each file is the photo its row's breed names
        body = (path / "train" / f"{i}.jpg").read_bytes().decode()
        assert body.split(" photo ")[0].lower() == by_id[i]
    assert datasets.layout("dogbreeds", "small") == datasets.layout("dogbreeds", "sample")


def test_full_breeds_are_built_from_the_downloaded_pets_and_bad_names_are_named(cpu, tmp_path):
    pets = cpu / "oxford_pets" / "images"  # the full Pets download, as the cache holds it once fetched
    pets.mkdir(parents=True)
    for breed in ("Siamese", "great_pyrenees", "keeshond"):
        for i in range(1, 4):
            (pets / f"{breed}_{i}.jpg").write_bytes(b"x")
    (cpu / "oxford_pets" / datasets.COMPLETE).write_text("the url")
    path = datasets.get_data("dogbreeds", mode="full")  # no download: the cached Pets are read
    assert path == cpu / "built" / "dogbreeds"
    breeds = sorted({line.split(",")[1] for line in (path / "labels.csv").read_text().splitlines()[1:]})
    assert breeds == ["great_pyrenees", "keeshond", "siamese"] and len(list((path / "train").iterdir())) == 9
    (pets / "Siamese.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"Siamese\.jpg is not named <breed>_<number>\.jpg"):
        small_builders.pets_breeds(cpu / "oxford_pets", tmp_path / "again")


def test_lesson_13_paints_a_pets_photo_in_small_mode_with_the_generated_paintings(cpu, tmp_path, monkeypatch):
    shared = shared_folder(tmp_path, monkeypatch)
    assert datasets.get_mode("auto", "style") == "small" and datasets.get_mode("auto", "superres") == "small"
    monkeypatch.setenv("COURSEKIT_MODE", "small")
    assert datasets.get_data("style") == shared / "pets"  # read as it is: the photos in images/
    assert datasets.layout("style", "small")["content"] == "images"
    paintings = datasets.get_sample("style", seed=0)  # generated whatever COURSEKIT_MODE says
    assert paintings == cpu / "sample" / "style" and len(list((paintings / "style").glob("*.jpg"))) == 6
