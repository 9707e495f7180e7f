"""Collaborative filtering: ratings in the MovieLens layout, their loaders, the RMSE metric, weight decay
as L2 in the loss, and the baselines a model must beat. (Lesson 6 builds the models in its notebook.)

``ratings.csv`` has ``userId,movieId,rating,timestamp``; ``movies.csv`` has ``movieId,title,genres``.
"""

from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from coursekit.callbacks import Callback
from coursekit import metrics
from coursekit.data import (
    CategoryMap,
    TableDataset,
    check_columns,
    make_loaders,
    random_split_indices,
    read_csv,
    row_name,
)

RATING_COLUMNS = ("userId", "movieId", "rating")


def read_ratings(path, y_range=None):
    """The ratings table, checked: a readable CSV with rows (``data.read_csv``: an empty, header-only or
    non-UTF-8 file is an error naming it, UTF-16 with its byte-order mark is read), the required columns,
    ratings numeric and inside ``y_range``."""
    import pandas as pd

    path = Path(path)
    df = read_csv(path, "ratings file", "a header line userId,movieId,rating, then one row per rating")
    check_columns(df, RATING_COLUMNS, path)
    for col, what in (("userId", "user"), ("movieId", "movie")):
        rows = np.flatnonzero((df[col].isna() | (df[col].astype(str).str.strip() == "")).to_numpy())
        if len(rows):
            lines = ", ".join(str(r + 2) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
            raise ValueError(
                f"{row_name(df, rows[0], path)} has an empty {col}: every rating needs a {what}. {len(rows)} "
                f"row(s) lack one, on line(s) {lines}; fill them in or delete those lines (left empty, they "
                f"would all be taken for one unknown {what})."
            )
    numeric = pd.to_numeric(df["rating"], errors="coerce")
    bad = numeric.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ValueError(f"{row_name(df, row, path)}: rating {df['rating'].iloc[row]!r} is not a number.")
    df["rating"] = numeric.astype("float32")
    if y_range is not None:
        out = (df["rating"] < y_range[0]) | (df["rating"] > y_range[1])
        if out.any():
            row = int(out.to_numpy().argmax())
            raise ValueError(
                f"{row_name(df, row, path)}: rating {df['rating'].iloc[row]} is outside the y-range "
                f"{y_range}; fix the row or widen y_range."
            )
    return df


def encode_pair(users, movies, item):
    """(user index, movie index) of one raw ``(user id, movie id)`` pair or ``{"userId": u, "movieId": m}``
    row; an id training never saw is index 0."""
    u, m = item if isinstance(item, (tuple, list)) else (item["userId"], item["movieId"])
    return users.encode([u])[0], movies.encode([m])[0]


def collab_dls(ratings, valid_pct=0.2, seed=42, bs=64):
    """``DataLoaders`` of (user index, movie index, rating) with a seeded random validation split.

    The id maps (``CategoryMap``s, 0 for ids training never saw) are fitted on the training rows;
    ``dls.users`` and ``dls.movies`` keep them, and the datasets' ``encode`` takes one raw (user, movie) pair.
    """
    train_idx, valid_idx = random_split_indices(len(ratings), valid_pct, seed)
    train, valid = ratings.iloc[train_idx], ratings.iloc[valid_idx]
    users, movies = CategoryMap(train["userId"], unknown=True), CategoryMap(train["movieId"], unknown=True)
    make = lambda df: TableDataset(
        users.encode(df["userId"]),
        movies.encode(df["movieId"]),
        torch.tensor(df["rating"].to_numpy(), dtype=torch.float32),
        encode=partial(encode_pair, users, movies),
    )
    dls = make_loaders(make(train), make(valid), bs=bs, seed=seed)
    dls.users, dls.movies = users, movies
    return dls


def mse_loss(preds, targets):
    """Mean squared error, with the targets in the predictions' floating type (float32, or float64 for a
    model in double precision: some PyTorch versions refuse mixed types in the backward pass)."""
    return nn.functional.mse_loss(preds, targets.to(preds.dtype))


@metrics.whole_pass  # a root of a mean over the whole pass: batch averages would be wrong
def rmse(preds, targets):
    """Root mean squared error: the MovieLens metric."""
    return torch.sqrt(((preds.float() - targets.float()) ** 2).mean())


class L2Penalty(Callback):
    """Weight decay as L2 regularisation *in the loss*: adds ``wd * sum(w**2)`` before the backward pass.

    With Adam this is not the same as decoupled weight decay (AdamW): the penalty's gradient is rescaled by
    Adam's per-parameter step sizes, so heavily updated weights are barely decayed.
    """

    order = 40  # after the loss is computed, before NaNCheck and the backward pass

    def __init__(self, wd):
        self.wd = wd

    def after_loss(self, learn):
        if learn.training:
            learn.loss = learn.loss + self.wd * sum((p**2).sum() for p in learn.model.parameters() if p.requires_grad)


def baseline_rmses(train, valid, reg=5.0, n_iter=5):
    """Validation RMSE of two baselines: the global mean, and global mean + user bias + movie bias
    (shrunk towards 0 by ``reg`` pseudo-ratings, fitted by a few rounds of alternating averages)."""
    mu = train["rating"].mean()
    b_user, b_movie = {}, {}
    for _ in range(n_iter):
        resid = train["rating"] - mu - train["movieId"].map(b_movie).fillna(0)
        g = resid.groupby(train["userId"])
        b_user = (g.sum() / (g.count() + reg)).to_dict()
        resid = train["rating"] - mu - train["userId"].map(b_user).fillna(0)
        g = resid.groupby(train["movieId"])
        b_movie = (g.sum() / (g.count() + reg)).to_dict()
    pred = mu + valid["userId"].map(b_user).fillna(0) + valid["movieId"].map(b_movie).fillna(0)
    rmse_of = lambda p: float(np.sqrt(((p - valid["rating"]) ** 2).mean()))
    return {"global_mean": rmse_of(mu), "user_movie_bias": rmse_of(pred)}
