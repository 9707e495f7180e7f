import math

import pandas as pd
import pytest
import torch
from torch import nn

from coursekit.tabular import tabular
from conftest import need_shared


def frames():
    train = pd.DataFrame({"shop": ["a", "b", "a", "c"], "kind": ["x", "y", None, "x"],
                          "size": [1.0, 2.0, None, 4.0], "age": [10, 20, 30, 40]})
    new = pd.DataFrame({"shop": ["b", "z", None], "kind": ["y", "x", "w"], "size": [None, 3.0, 8.0], "age": [5, 25, 45]})
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
    assert tabular.exp_rmspe(preds, targets).item() == pytest.approx(math.sqrt((0.1 ** 2 + 0.25 ** 2) / 2))


def test_bad_input_names_the_column_or_row():
    train, new = frames()
    proc = tabular.TabularProcessor(["shop", "kind"], ["size", "age"]).fit(train)
    with pytest.raises(KeyError, match="age"):
        proc.transform(new.drop(columns="age"))
    bad = new.astype({"size": object})
    bad.loc[1, "size"] = "big"
    with pytest.raises(ValueError, match="'size'.*'big'.*row 1"):
        proc.transform(bad)


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


def test_rossmann_sample_has_the_real_schema_and_learnable_effects(tmp_path):
    from coursekit.samples.tabular import make_rossmann_sample
    make_rossmann_sample(tmp_path, seed=0, n_stores=5, start="2015-01-01", end="2015-03-31")
    train = pd.read_csv(tmp_path / "train.csv", dtype={"StateHoliday": str})
    store = pd.read_csv(tmp_path / "store.csv")
    assert list(train.columns) == ["Store", "DayOfWeek", "Date", "Sales", "Customers", "Open", "Promo",
                                   "StateHoliday", "SchoolHoliday"]
    assert {"StoreType", "Assortment", "CompetitionDistance", "CompetitionOpenSinceMonth", "CompetitionOpenSinceYear",
            "Promo2", "Promo2SinceWeek", "Promo2SinceYear", "PromoInterval"} <= set(store.columns)
    assert (train.loc[train["Open"] == 0, "Sales"] == 0).all()
    open_days = train[train["Open"] == 1]
    assert open_days.groupby("Promo")["Sales"].mean().diff().iloc[-1] > 0  # promotions sell more
    joined = tabular.join_checked(train, store, "Store", "store table")
    assert len(joined) == len(train)
