"""Durations and rolling-window counts, checked against a slow row-by-row reference."""

import io

import numpy as np
import pandas as pd
import pytest

from coursekit.tabular import features


def reference(df, event, kind, days=7):
    """The obvious computation: for each row, look at every row of the same store, date by date."""
    stores, dates = df["Store"].tolist(), pd.to_datetime(df["Date"]).tolist()
    hits = [(s, d) for s, d, hit in zip(stores, dates, features.event_flags(df[event].to_numpy())) if hit]
    out = []
    for store, d in zip(stores, dates):
        gaps = {(h - d).days for s, h in hits if s == store}  # a set: one event day counts once
        if kind == "since":
            before = [-g for g in gaps if g <= 0]
            out.append(float(min(before)) if before else np.nan)
        elif kind == "until":
            after = [g for g in gaps if g >= 0]
            out.append(float(min(after)) if after else np.nan)
        elif kind == "past":
            out.append(float(sum(-days < g <= 0 for g in gaps)))
        else:
            out.append(float(sum(0 <= g < days for g in gaps)))
    return pd.Series(out, index=df.index)


def random_table(seed, n_stores=3, n_days=40):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2015-01-01", periods=n_days).strftime("%Y-%m-%d")
    df = pd.DataFrame([(s, d) for s in range(1, n_stores + 1) for d in dates], columns=["Store", "Date"])
    df = df[rng.random(len(df)) > 0.15]  # gaps: days a store has no row
    df["Promo"] = (rng.random(len(df)) < 0.15).astype(int)
    df["StateHoliday"] = np.where(rng.random(len(df)) < 0.1, "a", "0").astype(object)
    return df.sample(frac=1, random_state=seed)  # unsorted, with a shuffled index


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_features_match_the_row_by_row_reference_on_unsorted_tables_with_gaps(seed):
    df = random_table(seed)
    for event in ("Promo", "StateHoliday"):
        pd.testing.assert_series_equal(features.days_since(df, event), reference(df, event, "since"), check_names=False)
        pd.testing.assert_series_equal(features.days_until(df, event), reference(df, event, "until"), check_names=False)
        for direction in ("past", "next"):
            for days in (1, 3, 7):
                pd.testing.assert_series_equal(
                    features.window_count(df, event, days, direction),
                    reference(df, event, direction, days),
                    check_names=False,
                )


def test_hand_worked_durations_reset_at_store_boundaries():
    df = pd.DataFrame(
        {
            "Store": [1, 1, 1, 1, 2, 2],
            "Date": ["2015-03-01", "2015-03-02", "2015-03-03", "2015-03-05", "2015-03-01", "2015-03-02"],
            "Promo": [0, 1, 0, 0, 0, 0],
        }
    )
    # store 1: no promo before 1 March; store 2 has no promo at all, although store 1 has one the same days
    since = features.days_since(df, "Promo")
    assert np.isnan(since.iloc[0]) and since.iloc[1:4].tolist() == [0, 1, 3]
    assert since.iloc[4:].isna().all()
    assert features.days_until(df, "Promo").tolist()[:2] == [1, 0]
    assert features.days_until(df, "Promo").iloc[2:].isna().all()  # nothing after 2 March in either store
    assert features.window_count(df, "Promo", 3, "past").tolist() == [0, 1, 1, 0, 0, 0]  # 5 Mar: 3-5 Mar
    assert features.window_count(df, "Promo", 3, "next").tolist() == [1, 1, 0, 0, 0, 0]


def test_nan_and_text_events_do_not_count_and_results_keep_the_index():
    df = pd.DataFrame(
        {
            "Store": [7, 7, 7],
            "Date": ["2015-01-03", "2015-01-01", "2015-01-02"],
            "Promo": [np.nan, 1.0, np.nan],
            "StateHoliday": ["0", "b", 0],
        },
        index=["c", "a", "b"],
    )
    since = features.days_since(df, "Promo")
    assert since.index.tolist() == ["c", "a", "b"] and since.tolist() == [2, 0, 1]
    until = features.days_until(df, "StateHoliday")  # "0" and 0 are no holiday: only 1 January ("b") is
    assert until["a"] == 0 and until[["c", "b"]].isna().all()
    assert features.event_flags(pd.Series(["0", "a", 0, None, "", "c"], dtype=object)).tolist() == [
        False,
        True,
        False,
        False,
        False,
        True,
    ]
    # as read_csv(..., dtype={"StateHoliday": str}) gives it (a string dtype in recent pandas)
    csv = "Store,StateHoliday\n1,0\n1,a\n1,\n1,0\n1,b\n"
    read = pd.read_csv(io.StringIO(csv), dtype={"StateHoliday": str})["StateHoliday"]
    assert features.event_flags(read).tolist() == [False, True, False, False, True]
    assert features.event_flags(pd.Series([True, False, None], dtype="boolean")).tolist() == [True, False, False]


def test_duplicate_days_count_once_and_any_row_makes_an_event_day():
    # train and test joined can give one store two rows of one day; the window counts days, not rows
    df = pd.DataFrame({"Store": [1, 1, 1], "Date": ["2015-01-01", "2015-01-01", "2015-01-02"], "Promo": [0, 1, 0]})
    assert features.days_since(df, "Promo").tolist() == [0, 0, 1]
    assert features.window_count(df, "Promo", 7, "past").tolist() == [1, 1, 1]


def test_add_time_features_names_the_columns_as_in_2018():
    df = random_table(0, n_stores=2, n_days=10)
    out = features.add_time_features(df, ["Promo"])
    assert [c for c in out.columns if c not in df.columns] == ["AfterPromo", "BeforePromo", "Promo_bw", "Promo_fw"]
    assert len(out) == len(df) and "AfterPromo" not in df.columns  # a copy


def test_missing_date_or_bad_arguments_are_clear_errors():
    df = pd.DataFrame({"Store": [1, 1], "Date": ["2015-01-01", None], "Promo": [1, 0]})
    with pytest.raises(ValueError, match="row 1 of the table has no 'Date'"):
        features.days_since(df, "Promo")
    with pytest.raises(KeyError, match="Promo2"):
        features.days_until(df.dropna(), "Promo2")
    with pytest.raises(ValueError, match="'past' or 'next'"):
        features.window_count(df.dropna(), "Promo", 7, "forward")
    empty = df.iloc[:0]
    assert len(features.days_since(empty, "Promo")) == 0 and len(features.window_count(empty, "Promo")) == 0


def test_rossmann_sample_has_a_test_file_and_sales_that_rise_before_holidays(tmp_path):
    from coursekit.samples.tabular import make_rossmann_sample

    make_rossmann_sample(tmp_path, seed=0, n_stores=4, start="2014-06-01", end="2015-07-31")
    train = pd.read_csv(tmp_path / "train.csv", dtype={"StateHoliday": str})
    test = pd.read_csv(tmp_path / "test.csv", dtype={"StateHoliday": str})
    # the real test.csv's columns, its 48 days after train.csv's last, an Id per row and a few unknown Open
    assert list(test.columns) == ["Id", "Store", "DayOfWeek", "Date", "Open", "Promo", "StateHoliday", "SchoolHoliday"]
    assert (test["Date"].min(), test["Date"].max()) == ("2015-08-01", "2015-09-17")
    assert test["Id"].tolist() == list(range(1, len(test) + 1)) and 0 < test["Open"].isna().sum() < 10
    both = pd.concat([train, test], ignore_index=True)  # the whole calendar, train rows first
    before = features.days_until(both, "StateHoliday").to_numpy()[: len(train)]
    open_days = (train["Open"] == 1).to_numpy()
    sales = np.log(train["Sales"].where(open_days))
    assert sales[before == 1].mean() > sales[before > 3].mean() + 0.1  # shopping ahead of a closed day
