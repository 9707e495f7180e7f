"""Collaborative filtering: ratings in the MovieLens layout, embedding models, and weight decay two ways.

``ratings.csv`` has ``userId,movieId,rating,timestamp``; ``movies.csv`` has ``movieId,title,genres``.
"""
import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from coursekit.callbacks import Callback
from coursekit.core import check_path
from coursekit.data import make_loaders, random_split_indices
from coursekit.layers import sigmoid_range

RATING_COLUMNS = ("userId", "movieId", "rating")


def read_ratings(path, y_range=None):
    """The ratings table, checked: required columns present, ratings numeric and inside ``y_range``."""
    import pandas as pd
    path = check_path(path, "ratings file")
    df = pd.read_csv(path)
    for col in RATING_COLUMNS:
        if col not in df.columns:
            raise KeyError(f"{path} has no column {col!r}; its columns are {list(df.columns)}.")
    numeric = pd.to_numeric(df["rating"], errors="coerce")
    bad = numeric.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ValueError(f"{path} row {row + 2} (counting the header): rating {df['rating'].iloc[row]!r} is not a number.")
    df["rating"] = numeric.astype("float32")
    if y_range is not None:
        out = (df["rating"] < y_range[0]) | (df["rating"] > y_range[1])
        if out.any():
            row = int(out.to_numpy().argmax())
            raise ValueError(f"{path} row {row + 2} (counting the header): rating {df['rating'].iloc[row]} is outside "
                             f"the y-range {y_range}; fix the row or widen y_range.")
    return df


class Vocab:
    """Maps raw ids to contiguous indices, fitted on the training rows; index 0 is kept for unseen ids."""

    def __init__(self, ids):
        self.items = ["#unknown#"] + sorted(set(ids))
        self.index = {v: i for i, v in enumerate(self.items)}

    def encode(self, ids):
        return torch.tensor([self.index.get(v, 0) for v in ids], dtype=torch.long)

    def __len__(self):
        return len(self.items)

    def __repr__(self):
        return f"Vocab({len(self) - 1} ids + unknown)"


def collab_dls(ratings, valid_pct=0.2, seed=42, bs=64):
    """``DataLoaders`` of (user index, movie index, rating) with a seeded random validation split.

    The id vocabularies are fitted on the training rows; ``dls.users`` and ``dls.movies`` keep them.
    """
    train_idx, valid_idx = random_split_indices(len(ratings), valid_pct, seed)
    train, valid = ratings.iloc[train_idx], ratings.iloc[valid_idx]
    users, movies = Vocab(train["userId"]), Vocab(train["movieId"])
    make = lambda df: TensorDataset(users.encode(df["userId"]), movies.encode(df["movieId"]),
                                    torch.tensor(df["rating"].to_numpy(), dtype=torch.float32))
    dls = make_loaders(make(train), make(valid), bs=bs, seed=seed)
    dls.users, dls.movies = users, movies
    return dls


class DotProductBias(nn.Module):
    """rating = user . movie + user bias + movie bias, optionally squashed into ``y_range``."""

    def __init__(self, n_users, n_movies, n_factors=50, y_range=None):
        super().__init__()
        self.user_factors, self.movie_factors = nn.Embedding(n_users, n_factors), nn.Embedding(n_movies, n_factors)
        self.user_bias, self.movie_bias = nn.Embedding(n_users, 1), nn.Embedding(n_movies, 1)
        for emb in (self.user_factors, self.movie_factors):
            nn.init.normal_(emb.weight, std=0.01)
        for emb in (self.user_bias, self.movie_bias):
            nn.init.zeros_(emb.weight)
        self.y_range = y_range

    def forward(self, users, movies):
        out = (self.user_factors(users) * self.movie_factors(movies)).sum(dim=1)
        out = out + self.user_bias(users)[:, 0] + self.movie_bias(movies)[:, 0]
        return sigmoid_range(out, *self.y_range) if self.y_range else out


class EmbeddingNet(nn.Module):
    """Concatenated user and movie embeddings through hidden layers with dropout: a neural net instead of
    a dot product, free to learn interactions the dot product cannot express."""

    def __init__(self, n_users, n_movies, n_factors=50, hidden=(100,), p=0.3, y_range=(0.5, 5.5)):
        super().__init__()
        self.user_factors, self.movie_factors = nn.Embedding(n_users, n_factors), nn.Embedding(n_movies, n_factors)
        layers, n_in = [nn.Dropout(p / 2)], 2 * n_factors
        for n_out in hidden:
            layers += [nn.Linear(n_in, n_out), nn.ReLU(), nn.Dropout(p)]
            n_in = n_out
        self.layers = nn.Sequential(*layers, nn.Linear(n_in, 1))
        self.y_range = y_range

    def forward(self, users, movies):
        x = torch.cat([self.user_factors(users), self.movie_factors(movies)], dim=1)
        out = self.layers(x)[:, 0]
        return sigmoid_range(out, *self.y_range) if self.y_range else out


def mse_loss(preds, targets):
    """Mean squared error, with the targets as floats."""
    return nn.functional.mse_loss(preds, targets.float())


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
            learn.loss = learn.loss + self.wd * sum((p ** 2).sum() for p in learn.model.parameters() if p.requires_grad)


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
