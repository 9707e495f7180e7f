import pandas as pd
import pytest
import torch

from coursekit.tabular import collab
from coursekit.learner import Learner, adamw
from coursekit.samples.tabular import make_movielens_sample
from conftest import need_shared


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("movielens")
    make_movielens_sample(path, seed=0, n_users=60, n_movies=80, n_ratings=2000)
    return path


def test_sample_has_the_movielens_layout_and_half_stars(sample):
    ratings = pd.read_csv(sample / "ratings.csv")
    movies = pd.read_csv(sample / "movies.csv")
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert list(movies.columns) == ["movieId", "title", "genres"]
    assert set((ratings["rating"] * 2).unique()) <= set(range(1, 11))
    assert set(ratings["movieId"]) <= set(movies["movieId"])
    counts = ratings["userId"].value_counts()
    assert counts.max() > 5 * counts.median()  # a long tail of users


def test_predictions_stay_inside_the_y_range():
    model = collab.DotProductBias(10, 12, 4, y_range=(0.5, 5.0))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0).add_(50)  # absurd weights: the sigmoid still keeps predictions in range
        out = model(torch.arange(10), torch.arange(10))
    assert out.min() >= 0.5 and out.max() <= 5.0
    net = collab.EmbeddingNet(10, 12, 4, y_range=(1.0, 2.0))
    out = net(torch.arange(10), torch.arange(10))
    assert out.min() >= 1.0 and out.max() <= 2.0


def test_weight_decay_variants_reach_the_optimizer_as_intended(sample):
    dls = collab.collab_dls(collab.read_ratings(sample / "ratings.csv"), bs=32)
    make = lambda: collab.DotProductBias(len(dls.users), len(dls.movies), 4, y_range=(0.5, 5.5))
    decoupled = Learner(make(), dls, collab.mse_loss, opt_func=adamw, wd=0.1)
    decoupled.create_opt()
    assert all(g["weight_decay"] == 0.1 for g in decoupled.opt.param_groups)
    assert isinstance(decoupled.opt, torch.optim.AdamW)
    l2 = Learner(make(), dls, collab.mse_loss, opt_func=adamw, wd=0.0, cbs=[collab.L2Penalty(0.1)])
    l2.create_opt()
    assert all(g["weight_decay"] == 0.0 for g in l2.opt.param_groups)
    seen = []

    class Spy(collab.Callback):
        order = 45  # after the penalty

        def after_loss(self, learn):
            if learn.training:
                plain = collab.mse_loss(learn.preds, *learn.yb)
                penalty = 0.1 * sum((p ** 2).sum() for p in learn.model.parameters())
                seen.append((learn.loss.item(), (plain + penalty).item()))
                raise StopIteration

    with pytest.raises(StopIteration):
        l2.fit(1, cbs=[Spy()])
    assert seen[0][0] == pytest.approx(seen[0][1], rel=1e-5)


def test_bad_input_names_the_column_or_row(tmp_path):
    (tmp_path / "a.csv").write_text("userId,itemId,rating\n1,2,3\n")
    with pytest.raises(KeyError, match="movieId"):
        collab.read_ratings(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("userId,movieId,rating\n1,2,3\n1,3,great\n")
    with pytest.raises(ValueError, match="row 3.*great"):
        collab.read_ratings(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("userId,movieId,rating\n1,2,3\n1,3,7.5\n")
    with pytest.raises(ValueError, match="row 3.*7.5.*y-range"):
        collab.read_ratings(tmp_path / "c.csv", y_range=(0.5, 5.0))


def test_unseen_ids_map_to_the_unknown_index():
    vocab = collab.Vocab([10, 20, 30])
    assert vocab.encode([20, 99]).tolist() == [2, 0] and len(vocab) == 4


@pytest.mark.real_data
def test_real_movielens_sample_beats_both_baselines():
    from coursekit.core import seed_everything
    from coursekit.data import random_split_indices
    seed_everything(42)
    ratings = collab.read_ratings(need_shared("movie_lens_sample") / "ratings.csv", y_range=(0.5, 5.0))
    dls = collab.collab_dls(ratings, bs=64, seed=42)
    train_idx, valid_idx = random_split_indices(len(ratings), 0.2, 42)
    base = collab.baseline_rmses(ratings.iloc[train_idx], ratings.iloc[valid_idx])
    learn = Learner(collab.DotProductBias(len(dls.users), len(dls.movies), 50, y_range=(0.0, 5.5)), dls,
                    collab.mse_loss, metrics=[collab.rmse], wd=0.1)
    learn.fit_one_cycle(5, 5e-3)
    model_rmse = learn.recorder.last_metrics["rmse"]
    print(f"\nmovie_lens_sample RMSE: model {model_rmse:.4f}, user+movie bias {base['user_movie_bias']:.4f}, "
          f"global mean {base['global_mean']:.4f}")
    assert model_rmse < base["user_movie_bias"] < base["global_mean"]
