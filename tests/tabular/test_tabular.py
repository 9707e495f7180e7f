import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from coursekit.learner import Learner
from coursekit.tabular import tabular
from conftest import need_shared


def frames():
    train = pd.DataFrame(
        {
            "shop": ["a", "b", "a", "c"],
            "kind": ["x", "y", None, "x"],
            "size": [1.0, 2.0, None, 4.0],
            "age": [10, 20, 30, 40],
        }
    )
    new = pd.DataFrame(
        {"shop": ["b", "z", None], "kind": ["y", "x", "w"], "size": [None, 3.0, 8.0], "age": [5, 25, 45]}
    )
    return train, new


def test_processor_fitted_on_train_transforms_new_data_identically():
    train, new = frames()
    proc = tabular.TabularProcessor(["shop", "kind"], ["size", "age"]).fit(train)
    assert proc.cardinalities == [4, 3] and proc.cont_out == ["size", "age", "size_na"]
    x_cat, x_cont = proc.transform(new)
    assert x_cat.tolist() == [[2, 2], [0, 1], [0, 0]]  # unseen 'z', missing shop, unseen 'w' -> 0
    median = 2.0  # of 1, 2, 4
    filled = pd.Series([1.0, 2.0, median, 4.0])
    mean, std = filled.mean(), filled.std()
    assert x_cont[0, 0].item() == pytest.approx((median - mean) / std)  # missing -> training median
    assert x_cont[:, 2].tolist() == [1.0, 0.0, 0.0]  # the _na flag
    again = tabular.TabularProcessor(["shop", "kind"], ["size", "age"]).fit(train).transform(new)
    assert torch.equal(again[0], x_cat) and torch.equal(again[1], x_cont)
    row_by_row = torch.cat([proc.transform(new.iloc[[i]])[1] for i in range(3)])
    assert torch.allclose(row_by_row, x_cont)  # no statistics are taken from the new data


def test_embedding_size_rule():
    assert [tabular.emb_size_rule(n) for n in (2, 3, 10, 99, 1000)] == [1, 2, 5, 50, 50]


def test_exp_rmspe_hand_worked():
    targets = torch.log(torch.tensor([100.0, 200.0]))
    preds = torch.log(torch.tensor([110.0, 150.0]))  # errors of 10% and 25%
    assert tabular.exp_rmspe(preds, targets).item() == pytest.approx(math.sqrt((0.1**2 + 0.25**2) / 2))


def test_bad_input_names_the_column_or_row():
    train, new = frames()
    proc = tabular.TabularProcessor(["shop", "kind"], ["size", "age"]).fit(train)
    with pytest.raises(KeyError, match=r"the table has no column 'age'; its columns are \['shop', 'kind', 'size'\]"):
        proc.transform(new.drop(columns="age"))
    bad = new.astype({"size": object}).set_index(pd.Index([10, 11, 12]))  # a slice of a bigger table
    bad.loc[11, "size"] = "big"
    # named by its index label, as everywhere (data.row_name): bad.loc[11] is the row to fix
    with pytest.raises(
        ValueError, match="row 11 of the table has the non-numeric value 'big' in the continuous column 'size'"
    ):
        proc.transform(bad)
    with pytest.raises(KeyError, match="the training table has no column 'age'"):
        tabular.TabularProcessor(["shop"], ["age"]).fit(train.drop(columns="age"))


def test_category_codes_are_category_maps_with_unknown_at_zero():
    train, _ = frames()
    proc = tabular.TabularProcessor(["shop", "kind"], ["size"]).fit(train)
    shops = proc.categories["shop"]
    assert list(shops) == ["#unknown#", "a", "b", "c"] and shops[2] == "b" and "c" in shops
    assert shops.encode(["c", "z"]).tolist() == [3, 0]
    assert proc.cardinalities == [len(shops), len(proc.categories["kind"])] == [4, 3]


def test_encode_one_row_matches_the_table_transform():
    train, new = frames()
    proc = tabular.TabularProcessor(["shop", "kind"], ["size", "age"]).fit(train)
    x_cat, x_cont = proc.transform(new)
    for i in range(len(new)):
        for row in (new.iloc[i], new.iloc[i].to_dict()):  # a Series, or a dict of column -> value
            one_cat, one_cont = proc.encode(row)
            assert torch.equal(one_cat, x_cat[i]) and torch.allclose(one_cont, x_cont[i])
    with pytest.raises(KeyError, match="has no column 'age'"):
        proc.encode({"shop": "a", "kind": "x", "size": 1.0})


def test_encode_of_a_numeric_row_keeps_integer_categories():
    """A row of an all-numeric table comes as floats (Store 1.0): it must still be the category '1'."""
    train = pd.DataFrame({"store": [1, 2, 3, 2], "sales": [5.0, 6.0, 7.0, 8.0]})
    proc = tabular.TabularProcessor(["store"], ["sales"]).fit(train)
    row = train.iloc[1]
    assert row["store"] == 2.0 and row.dtype == "float64"
    assert proc.encode(row)[0].tolist() == proc.transform(train.iloc[[1]])[0][0].tolist() == [2]


def tiny_tabular_learner():
    train, new = frames()
    train, valid = pd.concat([train] * 8, ignore_index=True), pd.concat([new] * 2, ignore_index=True)
    proc = tabular.TabularProcessor(["shop", "kind"], ["size", "age"])
    dls = tabular.tabular_dls(proc, train, valid, train["age"] / 10.0, valid["age"] / 10.0, bs=8)
    model = tabular.TabularModel(proc.emb_sizes(), len(proc.cont_out), 1, layers=(8,), ps=(0.0,), y_range=(0, 6))
    learn = Learner(
        model, dls, lambda preds, y: F.mse_loss(preds[:, 0], y.float()), device="cpu", mixed_precision=False
    )  # float32 predictions, to compare exactly (bf16 CPUs default to bf16)
    learn.fit(1, 1e-2)
    return learn, valid


def test_tabular_datasets_encode_rows_and_have_no_classes():
    learn, valid = tiny_tabular_learner()
    ds = learn.dls.valid_ds
    assert not hasattr(ds, "classes") and learn.dls.c is None  # regression: predict gives a value, not a class
    x_cat, x_cont, y = ds[3]
    one_cat, one_cont = ds.encode(valid.iloc[3])
    assert torch.equal(one_cat, x_cat) and torch.allclose(one_cont, x_cont)


def test_predict_one_row_equals_the_model_output_on_that_row():
    learn, valid = tiny_tabular_learner()
    x_cat, x_cont, _ = next(iter(learn.dls.valid))
    learn.model.eval()
    with torch.no_grad():
        expected = learn.model(x_cat[3:4], x_cont[3:4])[0]  # row 3 of the validation loader (not shuffled)
    value, index, out = learn.predict(valid.iloc[3])
    assert index is None and torch.allclose(torch.as_tensor(out).float().cpu(), expected, atol=1e-6)
    assert value == pytest.approx(expected.item(), abs=1e-6)


def test_join_checked_reports_rows_without_a_match():
    left = pd.DataFrame({"Store": [1, 2, 3]})
    right = pd.DataFrame({"Store": [1, 2], "Type": ["a", "b"]})
    with pytest.raises(ValueError, match="1 rows.*Store.*3"):
        tabular.join_checked(left, right, "Store", "store table")
    assert list(tabular.join_checked(left[:2], right, "Store")["Type"]) == ["a", "b"]


def test_datepart_and_model_shapes_and_y_range():
    df = tabular.add_datepart(pd.DataFrame({"Date": ["2015-07-31", "2015-08-01"]}), "Date")
    assert df["Date_Dayofweek"].tolist() == [4, 5] and df["Date_Is_month_end"].tolist() == [True, False]
    model = tabular.TabularModel([(4, 2), (3, 2)], 3, 1, y_range=(0.0, 2.0)).eval()
    out = model(torch.tensor([[1, 2], [3, 0]]), torch.randn(2, 3) * 100)
    assert out.shape == (2, 1) and out.min() >= 0 and out.max() <= 2


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_datepart_elapsed_is_seconds_since_1970_in_every_unit(unit):
    dates = pd.to_datetime(pd.Series(["1970-01-02 00:00:00", "2015-07-31 12:00:00"])).astype(f"datetime64[{unit}]")
    df = tabular.add_datepart(pd.DataFrame({"Date": dates}), "Date")
    assert df["Date_Elapsed"].tolist() == [86_400, 1_438_344_000]  # date -u -d '2015-07-31 12:00' +%s


def test_datepart_elapsed_of_date_strings_and_of_zoned_dates():
    df = tabular.add_datepart(pd.DataFrame({"Date": ["2015-07-31", "2015-08-01"]}), "Date")  # pandas 3: us
    assert df["Date_Elapsed"].tolist() == [1_438_300_800, 1_438_387_200]
    zoned = pd.DataFrame({"Date": pd.to_datetime(pd.Series(["2015-07-31 02:00"])).dt.tz_localize("Europe/Berlin")})
    assert tabular.add_datepart(zoned, "Date")["Date_Elapsed"].tolist() == [1_438_300_800]  # 00:00 UTC


def test_datepart_of_a_missing_date_gives_missing_parts_and_a_non_date_is_named():
    df = tabular.add_datepart(pd.DataFrame({"Date": ["2015-07-31", None, "2015-08-01"]}), "Date")
    assert df["Date_Week"].isna().tolist() == [False, True, False] and df["Date_Week"][0] == 31
    assert df["Date_Elapsed"].isna().tolist() == [False, True, False] and df["Date_Elapsed"][2] == 1_438_387_200
    proc = tabular.TabularProcessor(["Date_Week"], ["Date_Elapsed"]).fit(df)  # filled and flagged downstream
    assert proc.transform(df)[1].isfinite().all()
    with pytest.raises(ValueError, match=r"Column 'Date' row 1 holds 'soon', which is not a date"):
        tabular.add_datepart(pd.DataFrame({"Date": ["2015-07-31", "soon"]}), "Date")


def test_a_model_with_fewer_dropout_rates_than_layers_is_an_error_not_a_missing_layer():
    with pytest.raises(ValueError) as e:
        tabular.TabularModel([(4, 2)], 3, 1, layers=(200, 100), ps=(0.1,))
    assert str(e.value) == (
        "Got 1 dropout rates ps=(0.1,) for 2 hidden layers layers=(200, 100): give one per hidden layer "
        "(0.0 for none), e.g. ps=(0.1,) * len(layers)."
    )
    model = tabular.TabularModel([(4, 2)], 3, 1, layers=(200, 100), ps=(0.1, 0.0))
    assert [m.out_features for m in model.layers if isinstance(m, nn.Linear)] == [200, 100, 1]


def test_targets_of_another_length_than_the_table_are_named_with_both_lengths():
    train, new = frames()
    proc = tabular.TabularProcessor(["shop", "kind"], ["size", "age"])
    with pytest.raises(ValueError) as e:
        tabular.tabular_dls(proc, train, new, train["age"][:3], new["age"], bs=8)
    assert str(e.value) == (
        "The training targets have 3 values but the training table has 4 rows: give one target per row (y_train "
        "for train_df, y_valid for valid_df, selected with the same rows)."
    )
    with pytest.raises(ValueError, match="The validation targets have 4 values but the validation table has 3 rows"):
        tabular.tabular_dls(proc, train, new, train["age"], train["age"], bs=8)


def test_a_one_row_training_table_is_a_clear_error_not_a_batchnorm_failure():
    train, new = frames()
    proc = tabular.TabularProcessor(["shop", "kind"], ["size", "age"])
    with pytest.raises(ValueError) as e:
        tabular.tabular_dls(proc, train[:1], new, train["age"][:1], new["age"], bs=8)
    assert str(e.value) == (
        "The training table has 1 row(s): the model's BatchNorm layers need at least 2 rows per batch to train. "
        "Train on more rows (every row of the table, less a validation share)."
    )


def test_an_all_missing_or_infinite_continuous_column_is_an_error_naming_it():
    train, new = frames()
    train["size"] = np.nan
    with pytest.raises(
        ValueError,
        match=r"The continuous column 'size' has no value in any of the 4 training rows: "
        r"there is no median .* Fill it in, or leave it out of cont_names",
    ):
        tabular.TabularProcessor(["shop"], ["size", "age"]).fit(train)
    train, new = frames()
    train = train.astype({"age": float})
    train.loc[2, "age"] = np.inf
    with pytest.raises(
        ValueError,
        match=r"row 2 of the training table has the infinite value inf in the continuous "
        r"column 'age'.*replace it with a finite number",
    ):
        tabular.TabularProcessor(["shop"], ["size", "age"]).fit(train)
    proc = tabular.TabularProcessor(["shop"], ["size", "age"]).fit(frames()[0])
    new = new.astype({"size": object})
    new.loc[1, "size"] = "-inf"  # as read from a CSV
    with pytest.raises(
        ValueError,
        match=r"row 1 of the table has the infinite value '-inf' in the continuous column "
        r"'size'",
    ):
        proc.transform(new)


def test_a_column_without_spread_is_divided_by_one_with_a_warning_naming_it():
    train, new = frames()
    with pytest.warns(
        UserWarning,
        match=r"Continuous column\(s\) \['size', 'age'\]: no spread to normalise by \(the "
        r"training table has one row\), so they are divided by 1",
    ):
        proc = tabular.TabularProcessor(["shop"], ["size", "age"]).fit(train.iloc[[0]])
    assert proc.stds == {"size": 1.0, "age": 1.0}
    x_cont = proc.transform(new)[1]
    assert torch.isfinite(x_cont).all() and x_cont[:, 1].tolist() == [5 - 10, 25 - 10, 45 - 10]  # only centred
    train["shop_size"] = 3.0
    with pytest.warns(UserWarning, match=r"\['shop_size'\]: .*\(the same value in every training row\)"):
        proc = tabular.TabularProcessor(["shop"], ["size", "shop_size"]).fit(train)
    assert proc.stds["shop_size"] == 1.0 and proc.stds["size"] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # columns with a spread: no warning
        tabular.TabularProcessor(["shop"], ["size", "age"]).fit(frames()[0])


@pytest.mark.real_data
def test_adult_salary_reaches_84_percent():
    from coursekit.core import seed_everything
    from coursekit.learner import Learner
    from coursekit.metrics import accuracy
    from coursekit.data import random_split_indices

    seed_everything(42)
    df = pd.read_csv(need_shared("adult_sample") / "adult.csv")
    cats = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex", "native-country"]
    conts = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    y = (df["salary"].str.strip() == ">=50k").astype("int64").to_numpy()
    train_idx, valid_idx = random_split_indices(len(df), 0.2, seed=42)
    proc = tabular.TabularProcessor(cats, conts)
    dls = tabular.tabular_dls(proc, df.iloc[train_idx], df.iloc[valid_idx], y[train_idx], y[valid_idx], bs=256)
    model = tabular.TabularModel(proc.emb_sizes(), len(proc.cont_out), 2)
    learn = Learner(model, dls, nn.CrossEntropyLoss(), metrics=[accuracy])
    learn.fit_one_cycle(3, 1e-2)
    acc = learn.recorder.last_metrics["accuracy"]
    print(f"\nadult_sample: validation accuracy {acc:.4f} ({len(valid_idx)} rows)")
    assert acc >= 0.84
