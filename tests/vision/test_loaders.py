import shutil
import warnings

import pytest
import torch

from coursekit.vision import images, loaders, transforms
from conftest import need_shared


def test_folder_loader_reads_the_sample(sample):
    dls = loaders.image_dls_from_folder(sample, size=64, bs=4)
    assert dls.classes == ["cats", "dogs"] and len(dls.train_ds) == 16 and len(dls.valid_ds) == 8
    xb, yb = next(iter(dls.train))
    assert xb.shape == (4, 3, 64, 64) and xb.dtype == torch.float32
    assert 0 <= xb.min() and xb.max() <= 1
    assert set(yb.tolist()) <= {0, 1}
    assert "2 classes" in repr(dls.train_ds)


def test_every_loader_defaults_to_seed_42(sample):
    """The training order depends on ``seed`` (42 unless given), not on whatever torch's global seed is."""
    order = lambda **kw: list(loaders.image_dls_from_folder(sample, size=16, bs=4, on_bad=None, **kw).train.sampler)
    torch.manual_seed(0)
    first = order()
    torch.manual_seed(1)
    assert order() == first == order(seed=42) != order(seed=7)


def test_corrupt_and_non_image_files_are_named_and_left_out(sample, tmp_path):
    path = tmp_path / "data"
    shutil.copytree(sample, path)
    good = next((path / "train" / "cats").glob("*.jpg"))
    (path / "train" / "cats" / "broken.jpg").write_bytes(good.read_bytes()[:300])  # truncated JPEG
    (path / "train" / "dogs" / "notes.txt").write_text("not an image")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dls = loaders.image_dls_from_folder(path, size=32, bs=4)
    text = "\n".join(str(w.message) for w in caught)
    assert "broken.jpg" in text and "notes.txt" in text
    assert len(dls.train_ds) == 16
    list(dls.train)  # every remaining image loads
    with pytest.raises(images.BadImageError, match="broken.jpg") as raised:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaders.image_dls_from_folder(path, size=32, on_bad="raise")
    assert raised.value.path.name == "broken.jpg"


def test_a_file_that_goes_bad_later_names_itself(sample, tmp_path):
    path = tmp_path / "data"
    shutil.copytree(sample, path)
    dls = loaders.image_dls_from_folder(path, size=32, bs=4)
    dls.valid_ds.items[0].write_bytes(b"garbage")
    with pytest.raises(images.BadImageError, match=dls.valid_ds.items[0].name):
        dls.valid_ds[0]


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        loaders.image_dls_from_folder(tmp_path / "nowhere")


def write_csv(path, rows, header="image_name,tags"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")


def test_csv_single_and_multi_label(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))
    folder = cats[0].parent
    write_csv(tmp_path / "labels.csv", [f"{p.stem},{'a b' if i % 2 else 'c'}" for i, p in enumerate(cats)])
    single = loaders.image_dls_from_csv(tmp_path, "labels.csv", folder, suffix=".jpg", size=32, bs=2, valid_pct=0.25)
    assert single.classes == ["a b", "c"] and not single.train_ds.multi_label
    multi = loaders.image_dls_from_csv(tmp_path, "labels.csv", folder, suffix=".jpg", label_delim=" ", size=32, bs=2)
    assert multi.classes == ["a", "b", "c"] and multi.train_ds.multi_label
    x, y = multi.train_ds[0]
    assert y.shape == (3,) and set(y.tolist()) <= {0.0, 1.0} and y.sum() >= 1
    assert len(multi.train_ds) + len(multi.valid_ds) == len(cats)


def test_csv_labels_are_indices_into_the_sorted_classes(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))[:4]
    write_csv(tmp_path / "labels.csv", [f"{p.stem},{tag}" for p, tag in zip(cats, ["zebra", "ant", "zebra", "moth"])])
    dls = loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", valid_pct=0, size=16)
    ds = dls.train_ds
    assert ds.classes == ["ant", "moth", "zebra"]
    assert [ds.classes[y] for y in ds.labels] == ["zebra", "ant", "zebra", "moth"]


def test_csv_errors_name_the_column_and_the_row_by_line_and_label(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))
    write_csv(tmp_path / "labels.csv", [f"{cats[0].stem},c", "no_such_image,c"])
    with pytest.raises(KeyError, match=r"labels.csv has no column 'labels'; its columns are \['image_name', 'tags'\]"):
        loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, label_col="labels", suffix=".jpg")
    # one convention for every row error (data.row_name): the file's line, then the row's index label
    with pytest.raises(FileNotFoundError, match=r"labels.csv line 3 \(row 1; the header is line 1\) names "
                                                r".*no_such_image.jpg, which does not exist"):
        loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg")
    write_csv(tmp_path / "labels.csv", [f"{cats[0].stem},c", f"{cats[1].stem},"])
    with pytest.raises(ValueError, match=r"labels.csv line 3 \(row 1; the header is line 1\) has no label"):
        loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg")


def test_csv_column_by_position_out_of_range_lists_the_columns(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))
    write_csv(tmp_path / "labels.csv", [f"{cats[0].stem},c"])
    with pytest.raises(KeyError, match="no column 5; its columns are.*image_name"):
        loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, label_col=5, suffix=".jpg")


def test_tags_csv_checks_tags_against_the_training_classes(tmp_path):
    write_csv(tmp_path / "test.csv", ["a,road clear", "b,clear volcano"])
    with pytest.raises(ValueError, match=r"test.csv line 3 \(row 1; the header is line 1\) has the tag 'volcano'"):
        loaders.read_tags_csv(tmp_path / "test.csv", ["road", "clear"])
    names, y = loaders.read_tags_csv(tmp_path / "test.csv", ["road", "clear", "volcano"])
    assert names == ["a", "b"] and y.tolist() == [[1, 1, 0], [0, 1, 1]]  # columns in the training order


def test_real_pets_photos_load():
    path = need_shared("pets") / "images"
    files = images.get_image_files(path)
    labels = [0 if f.name[0].isupper() else 1 for f in files]
    ds = loaders.ImageDataset(files, labels, ["cat", "dog"], transforms.valid_tfms(64))
    assert len(ds) == 450
    assert ds.classes[ds[0][1]] == "cat"
    xb, yb = next(iter(torch.utils.data.DataLoader(ds, batch_size=8, shuffle=True)))
    assert xb.shape == (8, 3, 64, 64) and xb.dtype == torch.float32 and 0 <= xb.min() and xb.max() <= 1
    assert images.good_indices(files) == list(range(450))  # the build-time check passes every real photo


def test_multi_label_targets_from_tag_indices_or_multi_hot_rows(sample):
    files = images.get_image_files(sample / "train" / "cats")[:3]
    by_index = loaders.ImageDataset(files, [[0, 2], [1], []], ["a", "b", "c"], transforms.valid_tfms(16), multi_label=True)
    rows = torch.tensor([[1.0, 0, 1], [0, 1, 0], [0, 0, 0]])
    by_row = loaders.ImageDataset(files, rows, ["a", "b", "c"], transforms.valid_tfms(16), multi_label=True)
    assert torch.equal(by_index.labels, rows) and torch.equal(by_row.labels, rows)
    assert by_index.label_names(0) == "a c" and by_index[1][1].tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="class index"):
        loaders.ImageDataset(files, [0, 1, 5], ["a", "b"], transforms.valid_tfms(16))


def test_items_builder_keeps_the_validation_items_it_is_given(sample):
    files = images.get_image_files(sample / "train")
    labels = [int(f.parent.name == "dogs") for f in files]
    dls = loaders.image_dls_from_items(files, labels, ["cats", "dogs"], valid_idx=[0, 15], size=32, bs=4)
    assert dls.valid_ds.items == [files[0], files[15]] and len(dls.train_ds) == len(files) - 2
    assert "RandomResizedCrop" in repr(dls.train_ds) and "CenterCrop" in repr(dls.valid_ds)


def test_folder_structure_errors_are_clear(sample, tmp_path):
    path = tmp_path / "data"
    shutil.copytree(sample, path)
    (path / "train" / ".ipynb_checkpoints").mkdir()  # Jupyter leaves these behind: not a class
    assert loaders.image_dls_from_folder(path, size=32).classes == ["cats", "dogs"]
    (path / "valid" / "horses").mkdir()
    with pytest.raises(ValueError, match="horses"):
        loaders.image_dls_from_folder(path, size=32)
    (path / "flat").mkdir()
    with pytest.raises(ValueError, match="no class folders"):
        loaders.image_dls_from_folder(path, train="flat", size=32)
