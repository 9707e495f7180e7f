import re
import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from coursekit.learner import Learner
from coursekit.vision import images, label_csv, loaders, transforms
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


def test_a_class_whose_training_images_are_all_unreadable_is_an_error_naming_it(sample, tmp_path):
    path = tmp_path / "data"
    shutil.copytree(sample, path)
    for f in (path / "train" / "dogs").glob("*.jpg"):
        f.write_bytes(b"not a JPEG")  # before: per-file warnings, then a "dogs" class with 0 training images
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the per-file warnings
        with pytest.raises(
            ValueError, match=r"Every training image of class 'dogs' is unreadable: 8 file\(s\) in .*train.dogs \("
        ):
            loaders.image_dls_from_folder(path, size=16, bs=4)
        shutil.copy(next((path / "valid" / "dogs").glob("*.jpg")), path / "train" / "dogs" / "readable.jpg")
        dls = loaders.image_dls_from_folder(path, size=16, bs=4)  # one readable image is enough to go on
    assert dls.train_ds.classes == ["cats", "dogs"] and len(dls.train_ds) == 9


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
    with pytest.warns(UserWarning, match="label_delim=' '"):
        single = loaders.image_dls_from_csv(
            tmp_path, "labels.csv", folder, suffix=".jpg", size=32, bs=2, valid_pct=0.25
        )
    assert single.classes == ["a b", "c"] and not single.train_ds.multi_label
    multi = loaders.image_dls_from_csv(tmp_path, "labels.csv", folder, suffix=".jpg", label_delim=" ", size=32, bs=2)
    assert multi.classes == ["a", "b", "c"] and multi.train_ds.multi_label
    x, y = multi.train_ds[0]
    assert y.shape == (3,) and set(y.tolist()) <= {0.0, 1.0} and y.sum() >= 1
    assert len(multi.train_ds) + len(multi.valid_ds) == len(cats)


@pytest.mark.parametrize("label, delim", [("cat dog", " "), ("cat,dog", ","), ("cat|dog", "|")])
def test_a_single_label_that_looks_like_several_tags_warns_and_suggests_label_delim(sample, tmp_path, label, delim):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))[:4]  # before: silently one class named "cat dog"
    rows = [f'{p.stem},"{tag}"' for p, tag in zip(cats, ["cat", label, "dog", "cat"])]
    write_csv(tmp_path / "labels.csv", rows)
    with pytest.warns(
        UserWarning,
        match=rf"1 label\(s\) in column 'tags' hold .*, the first '{re.escape(label)}' on "
        rf".*labels.csv line 3 \(row 1; .*not the tags 'cat' and 'dog'.*pass label_delim='{re.escape(delim)}'",
    ):
        dls = loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", size=16, bs=2)
    assert dls.classes == sorted(["cat", "dog", label])  # still read as asked: one class per label
    write_csv(tmp_path / "labels.csv", [f"{p.stem},{tag}" for p, tag in zip(cats, ["cat", "dog", "dog", "cat"])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for plain labels
        loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", size=16, bs=2, on_bad=None)


def test_csv_labels_are_indices_into_the_sorted_classes(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))[:4]
    write_csv(tmp_path / "labels.csv", [f"{p.stem},{tag}" for p, tag in zip(cats, ["zebra", "ant", "zebra", "moth"])])
    dls = loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", valid_pct=0.25, size=16)
    assert dls.train_ds.classes == dls.valid_ds.classes == ["ant", "moth", "zebra"]
    named = {p: ds.classes[y] for ds in (dls.train_ds, dls.valid_ds) for p, y in zip(ds.items, ds.labels)}
    assert [named[p] for p in cats] == ["zebra", "ant", "zebra", "moth"]


def test_csv_errors_name_the_column_and_the_row_by_line_and_label(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))
    write_csv(tmp_path / "labels.csv", [f"{cats[0].stem},c", "no_such_image,c"])
    with pytest.raises(KeyError, match=r"labels.csv has no column 'labels'; its columns are \['image_name', 'tags'\]"):
        loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, label_col="labels", suffix=".jpg")
    # one convention for every row error (data.row_name): the file's line, then the row's index label
    with pytest.raises(
        FileNotFoundError,
        match=r"labels.csv line 3 \(row 1; the header is line 1\) names "
        r".*no_such_image.jpg, which does not exist",
    ):
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
        label_csv.read_tags_csv(tmp_path / "test.csv", ["road", "clear"])
    names, y = label_csv.read_tags_csv(tmp_path / "test.csv", ["road", "clear", "volcano"])
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
    by_index = loaders.ImageDataset(
        files, [[0, 2], [1], []], ["a", "b", "c"], transforms.valid_tfms(16), multi_label=True
    )
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


def test_csv_spaces_around_names_and_labels_are_removed_with_a_warning(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))
    write_csv(
        tmp_path / "labels.csv",
        [
            f"{cats[0].stem},cat ",
            f" {cats[1].stem},dog",
            f"{cats[2].stem}, dog",
            f"{cats[3].stem},cat",
            f"{cats[4].stem},cat",
        ],
    )
    with pytest.warns(UserWarning) as caught:
        dls = loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", size=16)
    assert dls.classes == ["cat", "dog"]  # not four classes
    text = "\n".join(str(w.message) for w in caught)
    assert "Removed the spaces around 2 value(s) in column 'tags' of " in text
    assert "labels.csv line 2 (row 0; the header is line 1): 'cat ' -> 'cat'" in text
    assert "in column 'image_name'" in text and f"' {cats[1].stem}' -> '{cats[1].stem}'" in text


def test_csv_duplicate_rows_are_kept_once_and_conflicting_labels_are_an_error(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))
    rows = [f"{p.stem},{'cat' if i % 2 else 'dog'}" for i, p in enumerate(cats)]
    write_csv(tmp_path / "labels.csv", rows + rows[:3])  # three images listed twice, same labels
    with pytest.warns(
        UserWarning,
        match=r"labels.csv lists 3 file\(s\) more than once with the same label, the first "
        rf"'{cats[0].stem}' on .*labels.csv line 2 .* and .*labels.csv line 10 "
        r".*keeping its first row only, so that no image is in both training and "
        r"valid",
    ):
        dls = loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", size=16, valid_pct=0.5)
    items = dls.train_ds.items + dls.valid_ds.items
    assert sorted(items) == cats and not set(dls.train_ds.items) & set(dls.valid_ds.items)
    assert len(dls.valid_ds) == 4  # the split is over the 8 distinct images
    write_csv(tmp_path / "labels.csv", rows + [f"{cats[2].stem},cat"])  # row 2 says dog
    with pytest.raises(
        ValueError,
        match=rf"labels.csv gives '{cats[2].stem}' two different labels: 'dog' on "
        r".*labels.csv "
        r"line 4 \(row 2; the header is line 1\) and 'cat' on .*labels.csv line 10 .*"
        r"Keep the row with the right label and delete the other",
    ):
        loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", size=16)
    write_csv(tmp_path / "tags.csv", ["a,road clear", "b,clear road", "c,haze", "c,road"])
    with pytest.raises(ValueError, match="'c' two different labels: 'haze' on .* and 'road'"):
        label_csv.read_tags_csv(tmp_path / "tags.csv", ["road", "clear", "haze"])
    write_csv(tmp_path / "tags.csv", ["a,road clear", "b,haze", "a,clear road"])  # the same tags in another order
    with pytest.warns(UserWarning, match="lists 1 file"):
        names, y = label_csv.read_tags_csv(tmp_path / "tags.csv", ["road", "clear", "haze"])
    assert names == ["a", "b"] and y.tolist() == [[1, 1, 0], [0, 0, 1]]


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b"",
            r"The labels CSV .*labels.csv is empty \(0 bytes\): it needs a header line naming its file-name and label "
            r"columns, then one row per image",
        ),
        (b"image_name,tags\n", r"The labels CSV .*labels.csv has a header \(image_name, tags\) but no rows"),
        (
            "image_name,tags\n\u00e9t\u00e9,x\n".encode("latin-1"),
            r"labels.csv is not UTF-8 text \(byte 0xe9.*Save it as UTF-8",
        ),
    ],
)
def test_an_empty_header_only_or_non_utf8_labels_csv_is_named(tmp_path, content, message):
    (tmp_path / "labels.csv").write_bytes(content)
    with pytest.raises(ValueError, match=message):
        loaders.image_dls_from_csv(tmp_path, "labels.csv", "images")
    with pytest.raises(ValueError, match=message):
        label_csv.read_tags_csv(tmp_path / "labels.csv", ["x"])


def test_a_utf16_labels_csv_is_read(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))
    text = "image_name,tags\n" + "".join(f"{p.stem},{'chat' if i % 2 else 'chaton'}\n" for i, p in enumerate(cats))
    (tmp_path / "labels.csv").write_bytes(text.encode("utf-16"))  # what PowerShell's > writes
    dls = loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", size=16)
    assert dls.classes == ["chat", "chaton"] and len(dls.train_ds) + len(dls.valid_ds) == 8
    assert label_csv.read_tags_csv(tmp_path / "labels.csv", ["chat", "chaton"])[0] == [p.stem for p in cats]


def test_a_file_given_for_a_folder_says_so(sample, tmp_path):
    (tmp_path / "labels.csv").write_text("image_name,tags\na,b\n")
    with pytest.raises(NotADirectoryError, match=r"labels.csv is a file, but a folder is expected here"):
        loaders.image_dls_from_folder(tmp_path / "labels.csv")
    with pytest.raises(NotADirectoryError, match=r"labels.csv is a file, but a folder is expected here"):
        loaders.image_dls_from_csv(tmp_path / "labels.csv", "labels.csv", "images")
    with pytest.raises(IsADirectoryError, match=r"The labels CSV .* is a folder, but a file is expected"):
        loaders.image_dls_from_csv(tmp_path, ".", "images")
    path = tmp_path / "data"
    shutil.copytree(sample, path)
    shutil.rmtree(path / "valid")
    (path / "valid").write_text("oops")
    with pytest.raises(NotADirectoryError, match=r"The validation folder .*valid is a file, but a folder is expected"):
        loaders.image_dls_from_folder(path)


def test_no_validation_images_is_an_error_when_the_loaders_are_built(sample, tmp_path):
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))
    write_csv(tmp_path / "labels.csv", [f"{p.stem},{'cat' if i % 2 else 'dog'}" for i, p in enumerate(cats)])
    with pytest.raises(
        ValueError,
        match=r"No validation images: valid_pct=0 of 8 images is none. Use a valid_pct "
        r"above 0 \(0.2 is usual\)",
    ):
        loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", valid_pct=0, size=16)
    path = tmp_path / "data"
    shutil.copytree(sample, path)
    for f in (path / "valid").rglob("*.jpg"):
        f.write_bytes(b"broken")
    with pytest.warns(UserWarning, match="unreadable"):
        with pytest.raises(ValueError, match=r"No validation images: all are unreadable \(see the warnings above\)"):
            loaders.image_dls_from_folder(path, size=16)


@pytest.fixture(scope="module")
def tiny_image_learner(sample):
    torch.manual_seed(0)
    dls = loaders.image_dls_from_folder(sample, size=32, bs=4, on_bad=None)
    model = nn.Sequential(nn.Conv2d(3, 2, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return Learner(model, dls, nn.CrossEntropyLoss(), device="cpu")


def test_predict_converts_any_image_as_the_dataset_does(tiny_image_learner, tmp_path):
    learn = tiny_image_learner
    file = learn.dls.valid_ds.items[0]
    img = Image.open(file).convert("RGB")
    _, _, expected = learn.predict(file)
    same = lambda item: torch.allclose(learn.predict(item)[2], expected, atol=1e-5)
    rgba = img.convert("RGBA")
    arr = np.asarray(img)  # (H, W, 3) uint8
    tensor = torch.from_numpy(arr.copy()).permute(2, 0, 1)  # (3, H, W) uint8
    assert same(img) and same(rgba) and same(arr) and same(tensor) and same(torch.from_numpy(arr.copy()))
    assert same(arr.transpose(2, 0, 1))  # a CHW array: only that layout has the channels in front
    grey = img.convert("L")
    _, _, from_grey = learn.predict(grey)  # one channel made three, as the dataset makes it
    assert torch.allclose(from_grey, learn.predict(grey.convert("RGB"))[2], atol=1e-6)
    assert torch.allclose(learn.predict(np.asarray(grey))[2], from_grey, atol=1e-6)
    x = learn.dls.valid_ds.encode(file)
    assert x.dtype == torch.float32 and x.shape == (3, 32, 32) and learn.dls.valid_ds.encode(x) is x  # float: as is
    with pytest.raises(TypeError, match=r"must be uint8 \(0..255\); this ndarray of shape \(.*\) is float64"):
        learn.predict(arr / 255.0)
    with pytest.raises(ValueError, match=r"This Tensor of shape \(2, 3, .*\) is not one image"):
        learn.predict(torch.stack([tensor, tensor]))
