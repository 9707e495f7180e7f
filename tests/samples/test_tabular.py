"""The table samples have the real datasets' schemas (MovieLens ml-latest-small, Rossmann) and effects to learn."""

import pandas as pd

from coursekit.samples.tabular import make_movielens_sample, make_rossmann_sample


def test_sample_has_the_movielens_layout_and_half_stars(tmp_path):
    make_movielens_sample(tmp_path, seed=0, n_users=60, n_movies=80, n_ratings=2000)
    ratings = pd.read_csv(tmp_path / "ratings.csv")
    movies = pd.read_csv(tmp_path / "movies.csv")
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert list(movies.columns) == ["movieId", "title", "genres"]
    assert set((ratings["rating"] * 2).unique()) <= set(range(1, 11))
    assert set(ratings["movieId"]) <= set(movies["movieId"])
    counts = ratings["userId"].value_counts()
    assert counts.max() > 5 * counts.median()  # a long tail of users


def test_rossmann_sample_has_the_real_schema_and_learnable_effects(tmp_path):
    make_rossmann_sample(tmp_path, seed=0, n_stores=5, start="2015-01-01", end="2015-03-31")
    train = pd.read_csv(tmp_path / "train.csv", dtype={"StateHoliday": str})
    store = pd.read_csv(tmp_path / "store.csv")
    assert list(train.columns) == [
        "Store",
        "DayOfWeek",
        "Date",
        "Sales",
        "Customers",
        "Open",
        "Promo",
        "StateHoliday",
        "SchoolHoliday",
    ]
    assert {
        "StoreType",
        "Assortment",
        "CompetitionDistance",
        "CompetitionOpenSinceMonth",
        "CompetitionOpenSinceYear",
        "Promo2",
        "Promo2SinceWeek",
        "Promo2SinceYear",
        "PromoInterval",
    } <= set(store.columns)
    assert (train.loc[train["Open"] == 0, "Sales"] == 0).all()
    open_days = train[train["Open"] == 1]
    assert open_days.groupby("Promo")["Sales"].mean().diff().iloc[-1] > 0  # promotions sell more
    assert set(train["Store"]) == set(store["Store"])  # every sale has its store, as the join needs
