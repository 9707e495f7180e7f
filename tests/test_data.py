from pathlib import Path

import pandas as pd
import pytest
import torch
from torch.utils.data import TensorDataset

from coursekit import data


class Named(TensorDataset):
    """A tensor dataset with class names, as a classifier's dataset has."""

    def __init__(self, n, classes):
        super().__init__(torch.arange(n).float()[:, None], torch.arange(n) % len(classes))
        self.classes = classes


def test_dataloaders_report_sizes_and_classes():
    names = [f"class{i}" for i in range(12)]
    dls = data.make_loaders(Named(40, names), Named(10, names), bs=8, test_ds=Named(5, names))
    assert dls.classes == names and dls.c == 12 and dls.bs == 8 and len(dls.valid_ds) == 10
    assert repr(dls) == (
        "DataLoaders(bs=8; train: 40 items; valid: 10 items; test: 5 items; classes (12): "
        "class0, class1, class2, class3, class4, class5, class6, class7, class8, class9, ...)"
    )
    plain = data.make_loaders(TensorDataset(torch.zeros(4, 2)), TensorDataset(torch.zeros(2, 2)), bs=2)
    assert plain.classes is None and plain.c is None and "classes" not in repr(plain)


def test_make_loaders_shuffles_training_data_the_same_way_for_the_same_seed():
    ds = TensorDataset(torch.arange(100))
    order = lambda seed: torch.cat([b[0] for b in data.make_loaders(ds, ds, bs=10, seed=seed).train]).tolist()
    assert order(3) == order(3) != order(4)
    assert sorted(order(3)) == list(range(100))  # a permutation: 100 items fill the last batch exactly
    dls = data.make_loaders(ds, ds, bs=10, seed=3)
    assert torch.cat([b[0] for b in dls.valid]).tolist() == list(range(100))  # validation in order, 2 x bs
    assert dls.valid.batch_size == 20 and dls.train.drop_last


def test_random_split_indices_is_seeded_disjoint_and_complete():
    train, valid = data.random_split_indices(50, 0.2, seed=1)
    assert (train, valid) == data.random_split_indices(50, 0.2, seed=1) != data.random_split_indices(50, 0.2, 2)
    assert len(valid) == 10 and sorted(train + valid) == list(range(50)) and train == sorted(train)


def test_check_columns_takes_names_or_positions_and_lists_what_is_there():
    df = pd.DataFrame({"image_name": ["a"], "tags": ["x"]})
    assert data.check_columns(df, [0, "tags", -1]) == ["image_name", "tags", "tags"]
    with pytest.raises(KeyError, match=r"labels.csv has no column 'label'; its columns are \['image_name', 'tags'\]"):
        data.check_columns(df, ["image_name", "label"], Path("labels.csv"))
    with pytest.raises(KeyError, match=r"the table has no columns 5, 'x'"):
        data.check_columns(df, [5, "x"])


def test_row_name_gives_the_file_line_and_the_index_label():
    df = pd.DataFrame({"a": range(10)})
    assert data.row_name(df, 5, Path("train.csv")) == "train.csv line 7 (row 5; the header is line 1)"
    assert data.row_name(df, 5, "the training table") == "row 5 of the training table"
    part = df.iloc[[2, 8]]  # a slice: its labels no longer give the line, but df.loc[8] still finds it
    assert data.row_name(part, 1, Path("train.csv")) == "row 8 of train.csv"
    assert data.row_name(df.set_index(pd.Index([f"s{i}" for i in range(10)])), 1) == "row 's1' of the table"


def test_category_map_with_an_unknown_entry():
    ids = data.CategoryMap([30, 10, 20, 10], unknown=True)
    assert list(ids) == ["#unknown#", 10, 20, 30] and ids.items == list(ids) and len(ids) == 4
    assert ids.encode([20, 99, 10]).tolist() == [2, 0, 1] and ids.encode([]).dtype == torch.long
    assert ids[3] == 30 and ids.index == {10: 1, 20: 2, 30: 3} and 30 in ids and 99 not in ids
    assert repr(ids) == "CategoryMap(3 values and #unknown# at 0: 10, 20, 30)"


def test_category_map_without_unknown_is_strict_and_can_keep_an_order():
    classes = data.CategoryMap(["dog", "cat", "dog"])
    assert list(classes) == ["cat", "dog"] and classes.encode(["dog", "cat"]).tolist() == [1, 0]
    with pytest.raises(KeyError, match="'horse' is not one of the 2 known values: cat, dog"):
        classes.encode(["horse"])
    given = data.CategoryMap(["road", "clear", "haze"], sort=False)  # a model's outputs keep their order
    assert given.encode(["clear"]).tolist() == [1] and given[0] == "road"
    assert repr(data.CategoryMap(range(20))).endswith("values: 0, 1, 2, 3, 4, 5, 6, 7, ...)")


def test_table_dataset_items_and_encode():
    ds = data.TableDataset(
        torch.tensor([1, 2]),
        torch.tensor([[0.5], [1.5]]),
        torch.tensor([3.0, 4.0]),
        encode=lambda row: (torch.tensor(row[0]), torch.tensor([row[1]])),
    )
    x, cont, y = ds[1]
    assert (x.item(), cont.tolist(), y.item()) == (2, [1.5], 4.0) and len(ds) == 2
    one = ds.encode((7, 0.25))
    assert isinstance(one, tuple) and one[0].item() == 7 and one[1].tolist() == [0.25]
    assert not hasattr(ds, "classes") and repr(ds) == "TableDataset(2 rows; each (), (1,), ())"


def test_make_loaders_refuses_an_empty_training_or_validation_set():
    ds, empty = TensorDataset(torch.zeros(4, 2)), TensorDataset(torch.zeros(0, 2))
    with pytest.raises(
        ValueError,
        match=r"The validation set is empty \(training: 4 items, validation: 0\): every "
        r"metric would be NaN\. Give it items: a valid_pct above 0",
    ):
        data.make_loaders(ds, empty, bs=2)
    with pytest.raises(ValueError, match=r"The training set is empty \(training: 0 items, validation: 4\)"):
        data.make_loaders(empty, ds, bs=2)


def test_read_csv_names_the_file_when_it_is_empty_header_only_or_not_utf8(tmp_path):
    f = tmp_path / "t.csv"
    f.write_bytes(b"")
    with pytest.raises(ValueError, match=r"The table .*t\.csv is empty \(0 bytes\): it needs rows"):
        data.read_csv(f, "table", "rows")
    f.write_text("\n\n")
    with pytest.raises(ValueError, match=r"t\.csv is empty \(2 bytes of blank lines\)"):
        data.read_csv(f)
    f.write_text("a,b\n")
    with pytest.raises(ValueError, match=r"The CSV file .*t\.csv has a header \(a, b\) but no rows: it needs a header"):
        data.read_csv(f)
    f.write_bytes("a,b\ncafé,1\n".encode("cp1252"))
    with pytest.raises(ValueError, match=r"t\.csv is not UTF-8 text \(byte 0xe9.*Save it as UTF-8"):
        data.read_csv(f)
    f.write_bytes("a,b\n1,2\n".encode("utf-16-le"))  # no byte-order mark: cannot be read safely
    with pytest.raises(ValueError, match=r"t\.csv is not UTF-8 text: it has zero bytes, as UTF-16 without"):
        data.read_csv(f)
    for encoding in ("utf-16", "utf-8-sig"):  # with a byte-order mark: read as what it is
        f.write_bytes("a,b\ncafé,2\n".encode(encoding))
        df = data.read_csv(f)
        assert list(df.columns) == ["a", "b"] and df["a"].tolist() == ["café"] and df["b"].tolist() == [2]
    with pytest.raises(IsADirectoryError, match="is a folder, but a file is expected"):
        data.read_csv(tmp_path)


def test_strip_columns_removes_spaces_around_text_and_says_where():
    df = pd.DataFrame({"name": ["a.jpg", " b.jpg"], "label": ["cat ", "cat"], "n": [1, 2]})
    with pytest.warns(UserWarning) as caught:
        out = data.strip_columns(df, ["name", "label"], Path("labels.csv"))
    assert [str(w.message) for w in caught] == [  # one warning per column that changed
        "Removed the spaces around 1 value(s) in column 'name' of labels.csv, the first on labels.csv line 3 (row 1; "
        "the header is line 1): ' b.jpg' -> 'b.jpg'. Remove them from the file to silence this warning.",
        "Removed the spaces around 1 value(s) in column 'label' of labels.csv, the first on labels.csv line 2 (row 0; "
        "the header is line 1): 'cat ' -> 'cat'. Remove them from the file to silence this warning.",
    ]
    assert out["name"].tolist() == ["a.jpg", "b.jpg"] and out["label"].tolist() == ["cat", "cat"]
    assert df["label"][0] == "cat "  # the caller's table is left alone
