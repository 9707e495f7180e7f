"""Offline look-alikes of the table datasets, in the real layouts (numpy and pandas only).

``make_movielens_sample``: ratings from two broad tastes that genres decide, private user and movie factors
and genre likes, with the long tail of real rating data (a few users and movies have most of the ratings), in
the MovieLens ml-latest-small layout: ``ratings.csv`` (userId,movieId,rating,timestamp; half stars) and
``movies.csv`` (movieId,title,genres).
"""

from pathlib import Path

import numpy as np

GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
# Two broad tastes, each a direction over genres (the names the 2018 lesson gave the axes its PCA found)
TASTE_AXES = {
    "easy watching vs serious": {
        "Comedy": 1,
        "Animation": 1,
        "Musical": 1,
        "Romance": 0.5,
        "Adventure": 0.5,
        "Drama": -1,
        "War": -1,
        "Documentary": -1,
        "Crime": -0.5,
    },
    "spectacle vs dialog": {
        "Action": 1,
        "Sci-Fi": 1,
        "Fantasy": 1,
        "Adventure": 0.5,
        "Western": 0.5,
        "Romance": -1,
        "Mystery": -1,
        "Drama": -0.5,
        "Documentary": -0.5,
    },
}
WORDS_A = [
    "Silent",
    "Last",
    "Red",
    "Lost",
    "Hidden",
    "Broken",
    "Golden",
    "Midnight",
    "Wild",
    "Frozen",
    "Secret",
    "Little",
    "Dark",
    "Electric",
    "Final",
    "Crimson",
    "Distant",
    "Iron",
    "Paper",
    "Velvet",
]
WORDS_B = [
    "River",
    "Kingdom",
    "Summer",
    "Detective",
    "Garden",
    "Empire",
    "Letters",
    "Station",
    "Horizon",
    "Machine",
    "Harbor",
    "Orchard",
    "Signal",
    "Frontier",
    "Symphony",
    "Island",
    "Circus",
    "Voyage",
    "Mirror",
    "Storm",
]


def movie_titles(rng, n):
    """Unique 'The Adjective Noun (year)' titles."""
    titles, seen = [], set()
    while len(titles) < n:
        title = f"{'The ' if rng.random() < 0.4 else ''}{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}"
        if rng.random() < 0.15:
            title += f" {rng.integers(2, 5)}"
        if title not in seen:
            seen.add(title)
            titles.append(f"{title} ({rng.integers(1950, 2019)})")
    return titles


def make_movielens_sample(dest, seed=0, n_users=400, n_movies=600, n_ratings=25000, n_factors=5):
    """Write ``ratings.csv`` and ``movies.csv`` generated from hidden factors (see the module docstring)."""
    import pandas as pd  # here: importing coursekit.datasets (which registers the samples) stays quick

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    genres = [sorted(rng.choice(GENRES, size=rng.integers(1, 4), replace=False)) for _ in range(n_movies)]
    genre_matrix = np.array([[g in gs for g in GENRES] for gs in genres], dtype=float)
    # hidden truth: private taste factors, genre likes, and biases (some users are harsh, some films are better)
    user_f, movie_f = rng.normal(0, 0.45, (n_users, n_factors)), rng.normal(0, 0.45, (n_movies, n_factors))
    user_genre = rng.normal(0, 0.3, (n_users, len(GENRES)))
    user_bias, movie_bias = rng.normal(0, 0.4, n_users), rng.normal(0, 0.5, n_movies)
    # the long tail: activity and popularity follow power laws
    user_p = rng.pareto(1.2, n_users) + 0.05
    movie_p = (rng.pareto(1.0, n_movies) + 0.05) * np.exp(movie_bias)  # better films are watched more
    users = rng.choice(n_users, n_ratings, p=user_p / user_p.sum())
    movies = rng.choice(n_movies, n_ratings, p=movie_p / movie_p.sum())
    pairs = np.unique(np.stack([users, movies], 1), axis=0)  # one rating per (user, movie)
    u, m = pairs[:, 0], pairs[:, 1]
    # and two broad tastes that genres decide, stronger than the rest (as the 2018 lesson's PCA found)
    axes = np.array([[TASTE_AXES[k].get(g, 0.0) for k in TASTE_AXES] for g in GENRES])  # (n_genres, 2)
    movie_axes = genre_matrix @ axes / genre_matrix.sum(1, keepdims=True) + rng.normal(0, 0.25, (n_movies, 2))
    user_axes = rng.normal(0, 0.8, (n_users, 2))
    taste = (
        (user_axes[u] * movie_axes[m]).sum(1)
        + (user_f[u] * movie_f[m]).sum(1)
        + (user_genre[u] * genre_matrix[m]).sum(1) / genre_matrix[m].sum(1)
    )
    score = 3.5 + user_bias[u] + movie_bias[m] + taste + rng.normal(0, 0.45, len(u))
    rating = np.clip(np.round(score * 2) / 2, 0.5, 5.0)
    timestamp = np.sort(rng.integers(1_000_000_000, 1_540_000_000, len(u)))
    order = rng.permutation(len(u))
    movie_ids = np.sort(rng.choice(np.arange(1, 20 * n_movies), n_movies, replace=False))
    pd.DataFrame(
        {"userId": u[order] + 1, "movieId": movie_ids[m[order]], "rating": rating[order], "timestamp": timestamp}
    ).to_csv(dest / "ratings.csv", index=False)
    pd.DataFrame(
        {"movieId": movie_ids, "title": movie_titles(rng, n_movies), "genres": ["|".join(g) for g in genres]}
    ).to_csv(dest / "movies.csv", index=False)


def make_rossmann_sample(dest, seed=0, n_stores=40, start="2014-01-01", end="2015-07-31", test_days=48):
    """``train.csv`` (daily sales per store), ``store.csv`` (store facts) and ``test.csv`` (the ``test_days``
    after ``end``, no sales, an ``Id`` per row) in the Rossmann schema.

    Sales follow a store level, store type and assortment, day of week, yearly seasonality (a December
    peak), promotions, school and state holidays and a nearby competitor opening, plus noise; stores close
    on most Sundays and on holidays, and people shop ahead of a holiday and catch up after it (the days
    around a holiday sell more). Some store facts are missing, as in the real data, and a few test rows have
    no ``Open`` value, as in the real test.csv.
    """
    import pandas as pd  # here: importing coursekit.datasets (which registers the samples) stays quick

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    stores = np.arange(1, n_stores + 1)
    store_type = rng.choice(list("abcd"), n_stores, p=[0.5, 0.05, 0.15, 0.3])
    assortment = rng.choice(list("abc"), n_stores, p=[0.5, 0.05, 0.45])
    distance = np.round(np.exp(rng.normal(7.5, 1.2, n_stores)), -1)
    distance[rng.random(n_stores) < 0.05] = np.nan
    comp_open = pd.to_datetime(start) + pd.to_timedelta(rng.integers(-900, 560, n_stores), unit="D")
    comp_known = rng.random(n_stores) > 0.3
    promo2 = rng.random(n_stores) < 0.5
    store = pd.DataFrame(
        {
            "Store": stores,
            "StoreType": store_type,
            "Assortment": assortment,
            "CompetitionDistance": distance,
            "CompetitionOpenSinceMonth": np.where(comp_known, comp_open.month, np.nan),
            "CompetitionOpenSinceYear": np.where(comp_known, comp_open.year, np.nan),
            "Promo2": promo2.astype(int),
            "Promo2SinceWeek": np.where(promo2, rng.integers(1, 53, n_stores), np.nan),
            "Promo2SinceYear": np.where(promo2, rng.integers(2010, 2015, n_stores), np.nan),
            "PromoInterval": np.where(
                promo2, rng.choice(["Jan,Apr,Jul,Oct", "Feb,May,Aug,Nov", "Mar,Jun,Sept,Dec"], n_stores), None
            ),
        }
    )
    dates = pd.date_range(start, pd.to_datetime(end) + pd.Timedelta(days=test_days), freq="D")  # train + test
    holidays = {d: rng.choice(list("abc")) for d in dates[rng.random(len(dates)) < 0.03]}
    school = rng.random(len(dates)) < 0.18
    promo_days = (dates.day_of_week < 5) & (((dates.isocalendar().week.to_numpy()) % 2) == 0)
    level = rng.normal(8.6, 0.35, n_stores) + np.where(store_type == "b", 0.5, 0) + np.where(assortment == "c", 0.1, 0)
    dow_effect = np.array([0.12, 0.02, 0.0, -0.02, 0.04, 0.06, -0.3])
    is_holiday = np.isin(dates, list(holidays))
    # shopping ahead of a holiday (the 2 days before it) and catching up the day after it
    around = 0.25 * np.roll(is_holiday, -1) + 0.12 * np.roll(is_holiday, -2) + 0.15 * np.roll(is_holiday, 1)
    rows = []
    for s in range(n_stores):
        d = dates
        holiday = np.array([holidays.get(x, "0") for x in d])
        open_ = ~(((d.day_of_week == 6) & (store_type[s] != "b")) | (holiday != "0"))
        log_sales = (
            level[s]
            + dow_effect[d.day_of_week]
            + 0.12 * np.cos(2 * np.pi * (d.day_of_year - 355) / 365.25)
            + 0.25 * promo_days
            + 0.04 * school
            + around
            - 0.12 * (d >= comp_open[s]) * (distance[s] < 2000)
            + rng.normal(0, 0.08, len(d))
        )
        sales = np.where(open_, np.round(np.exp(log_sales)), 0).astype(int)
        customers = np.where(open_, np.round(sales / rng.normal(9.5, 0.6, len(d))), 0).astype(int)
        rows.append(
            pd.DataFrame(
                {
                    "Store": s + 1,
                    "DayOfWeek": d.day_of_week + 1,
                    "Date": d.strftime("%Y-%m-%d"),
                    "Sales": sales,
                    "Customers": customers,
                    "Open": open_.astype(int),
                    "Promo": promo_days.astype(int),
                    "StateHoliday": holiday,
                    "SchoolHoliday": school.astype(int),
                }
            )
        )
    every = pd.concat(rows).sort_values(["Date", "Store"], ascending=[False, True])  # newest first, as Kaggle's
    is_test = every["Date"] > pd.to_datetime(end).strftime("%Y-%m-%d")
    every[~is_test].to_csv(dest / "train.csv", index=False)
    test = every[is_test].drop(columns=["Sales", "Customers"]).astype({"Open": "float64"}).reset_index(drop=True)
    unknown = test.index[(test["Store"] == test["Store"].max()) & (test["Open"] == 1)][:3]
    test.loc[unknown, "Open"] = np.nan  # the real test.csv has 11 rows of one store without Open
    test.insert(0, "Id", np.arange(1, len(test) + 1))
    test[["Id", "Store", "DayOfWeek", "Date", "Open", "Promo", "StateHoliday", "SchoolHoliday"]].to_csv(
        dest / "test.csv", index=False
    )
    store.to_csv(dest / "store.csv", index=False)
