import pytest
import torch
from torch import nn

from coursekit.data import CategoryMap, random_split_indices
from coursekit.layers import sigmoid_range
from coursekit.learner import Learner, adamw
from coursekit.samples.tabular import make_movielens_sample
from coursekit.tabular import collab


class DotProductBias(nn.Module):
    """The tests' own small collaborative-filtering model (lesson 6 builds its models in the notebook)."""

    def __init__(self, n_users, n_movies, n_factors, y_range=(0.5, 5.5)):
        super().__init__()
        self.users, self.movies = nn.Embedding(n_users, n_factors), nn.Embedding(n_movies, n_factors)
        self.user_bias, self.movie_bias = nn.Embedding(n_users, 1), nn.Embedding(n_movies, 1)
        for emb in (self.users, self.movies):
            nn.init.normal_(emb.weight, std=0.01)
        for emb in (self.user_bias, self.movie_bias):
            nn.init.zeros_(emb.weight)
        self.y_range = y_range

    def forward(self, users, movies):  # (bs,), (bs,) -> (bs,)
        out = (self.users(users) * self.movies(movies)).sum(1)
        out = out + self.user_bias(users)[:, 0] + self.movie_bias(movies)[:, 0]
        return sigmoid_range(out, *self.y_range)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("movielens")
    make_movielens_sample(path, seed=0, n_users=60, n_movies=80, n_ratings=2000)
    return path


def test_weight_decay_variants_reach_the_optimizer_as_intended(sample):
    dls = collab.collab_dls(collab.read_ratings(sample / "ratings.csv"), bs=32)
    make = lambda: DotProductBias(len(dls.users), len(dls.movies), 4, y_range=(0.5, 5.5))
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
                penalty = 0.1 * sum((p**2).sum() for p in learn.model.parameters())
                seen.append((learn.loss.item(), (plain + penalty).item()))
                raise StopIteration

    with pytest.raises(StopIteration):
        l2.fit(1, cbs=[Spy()])
    assert seen[0][0] == pytest.approx(seen[0][1], rel=1e-5)


def test_bad_input_names_the_column_or_row(tmp_path):
    (tmp_path / "a.csv").write_text("userId,itemId,rating\n1,2,3\n")
    with pytest.raises(KeyError, match=r"a.csv has no column 'movieId'; its columns are \['userId', 'itemId'"):
        collab.read_ratings(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("userId,movieId,rating\n1,2,3\n1,3,great\n")
    # the same words as every table error (data.row_name): the file's line, and the row's index label
    with pytest.raises(ValueError, match=r"b.csv line 3 \(row 1; the header is line 1\): rating 'great'"):
        collab.read_ratings(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("userId,movieId,rating\n1,2,3\n1,3,7.5\n")
    with pytest.raises(ValueError, match=r"c.csv line 3 \(row 1; the header is line 1\): rating 7.5 .*y-range"):
        collab.read_ratings(tmp_path / "c.csv", y_range=(0.5, 5.0))


@pytest.mark.parametrize("col, what", [("userId", "user"), ("movieId", "movie")])
def test_ratings_with_an_empty_user_or_movie_id_are_an_error_naming_their_lines(tmp_path, col, what):
    rows = [{"userId": "1", "movieId": "2", "rating": "3"} for _ in range(14)]
    for i in (2, 5, *range(6, 14)):
        rows[i][col] = "" if i != 5 else " "
    text = "userId,movieId,rating\n" + "".join(f"{r['userId']},{r['movieId']},{r['rating']}\n" for r in rows)
    (tmp_path / "r.csv").write_text(text)
    with pytest.raises(ValueError) as e:
        collab.read_ratings(tmp_path / "r.csv")
    assert str(e.value) == (
        f"{tmp_path / 'r.csv'} line 4 (row 2; the header is line 1) has an empty {col}: every rating needs a "
        f"{what}. 10 row(s) lack one, on line(s) 4, 7, 8, 9, 10, 11, 12, 13, 14, 15; fill them in or delete those "
        f"lines (left empty, they would all be taken for one unknown {what})."
    )
    (tmp_path / "s.csv").write_text(
        "userId,movieId,rating\n1,,3\n" if col == "movieId" else "userId,movieId,rating\n,2,3\n"
    )
    with pytest.raises(
        ValueError, match=rf"s.csv line 2 \(row 0; the header is line 1\) has an empty {col}: .* on line\(s\) 2;"
    ):
        collab.read_ratings(tmp_path / "s.csv")


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b"",
            r"The ratings file .*r.csv is empty \(0 bytes\): it needs a header line userId,movieId,rating, "
            r"then one row per rating",
        ),
        (b"userId,movieId,rating\n", r"The ratings file .*r.csv has a header \(userId, movieId, rating\) but no rows"),
        (
            "userId,movieId,rating\n1,2,3\n".encode("utf-16-le"),
            r"r.csv is not UTF-8 text: it has zero bytes, as UTF-16 "
            r"without a byte-order mark",
        ),
    ],
)
def test_an_empty_header_only_or_unreadable_ratings_file_is_named(tmp_path, content, message):
    (tmp_path / "r.csv").write_bytes(content)
    with pytest.raises(ValueError, match=message):
        collab.read_ratings(tmp_path / "r.csv")


def test_a_utf16_ratings_file_with_its_byte_order_mark_is_read(tmp_path):
    (tmp_path / "r.csv").write_bytes("userId,movieId,rating\n1,2,3.5\n4,5,1\n".encode("utf-16"))
    df = collab.read_ratings(tmp_path / "r.csv")
    assert df["userId"].tolist() == [1, 4] and df["rating"].tolist() == [3.5, 1.0]
    with pytest.raises(IsADirectoryError, match="The ratings file .* is a folder, but a file is expected"):
        collab.read_ratings(tmp_path)


def test_id_maps_are_category_maps_fitted_on_training_rows(sample):
    ratings = collab.read_ratings(sample / "ratings.csv")
    dls = collab.collab_dls(ratings, bs=32)
    assert isinstance(dls.users, CategoryMap) and dls.users[0] == "#unknown#"
    train_idx, _ = random_split_indices(len(ratings), 0.2, 42)
    assert list(dls.users)[1:] == sorted(ratings["userId"].iloc[train_idx].unique())  # training ids only
    movie = dls.movies[5]
    assert movie in dls.movies and movie in dls.movies.index and dls.movies.encode([movie, -1]).tolist() == [5, 0]


def test_collab_datasets_encode_one_pair_and_have_no_classes(sample):
    ratings = collab.read_ratings(sample / "ratings.csv")
    dls = collab.collab_dls(ratings, bs=32)
    ds = dls.valid_ds
    assert not hasattr(ds, "classes") and dls.c is None  # regression: predict gives a value, not a class
    u, m = int(ratings["userId"].iloc[0]), int(ratings["movieId"].iloc[0])
    pair = ds.encode((u, m))
    assert pair == ds.encode({"userId": u, "movieId": m}) == ds.encode(ratings.iloc[0])
    assert [int(t) for t in pair] == [dls.users.index[u], dls.movies.index[m]] and pair[0].shape == ()
    assert [int(t) for t in ds.encode((-1, -2))] == [0, 0]  # ids training never saw


def test_predict_one_pair_equals_the_model_output_on_that_row(sample):
    ratings = collab.read_ratings(sample / "ratings.csv")
    dls = collab.collab_dls(ratings, bs=32, seed=42)
    learn = Learner(DotProductBias(len(dls.users), len(dls.movies), 4), dls, collab.mse_loss, device="cpu")
    learn.fit(1, 1e-2)
    users, movies, _ = next(iter(dls.valid))
    learn.model.eval()
    with torch.no_grad():
        expected = learn.model(users[3:4], movies[3:4])[0]  # row 3 of the validation loader (not shuffled)
    _, valid_idx = random_split_indices(len(ratings), 0.2, 42)
    row = ratings.iloc[valid_idx[3]]
    value, index, out = learn.predict({"userId": row["userId"], "movieId": row["movieId"]})
    assert index is None and value == pytest.approx(expected.item(), abs=1e-6)
    assert torch.allclose(torch.as_tensor(out).float().cpu(), expected, atol=1e-6)
    assert learn.predict((row["userId"], row["movieId"]))[0] == pytest.approx(value, abs=1e-6)


def test_rmse_in_the_training_table_is_the_rmse_of_all_validation_predictions(sample):
    """RMSE is the root of a mean over the whole pass: the mean of per-batch RMSEs would be lower."""
    dls = collab.collab_dls(collab.read_ratings(sample / "ratings.csv"), bs=16, seed=42)
    learn = Learner(
        DotProductBias(len(dls.users), len(dls.movies), 4), dls, collab.mse_loss, metrics=[collab.rmse], device="cpu"
    )
    learn.fit(1, 1e-2)
    preds, targets = learn.get_preds()
    assert learn.recorder.last_metrics["rmse"] == pytest.approx(collab.rmse(preds, targets).item(), rel=1e-5)


def test_the_loss_takes_the_predictions_precision_so_a_double_model_trains():
    preds = torch.tensor([3.0, 4.5], dtype=torch.float64, requires_grad=True)
    loss = collab.mse_loss(preds, torch.tensor([3.5, 4.0]))  # ratings come as float32
    loss.backward()  # PyTorch before 2.14 refused float32 gradients for a float64 tensor here
    assert loss.dtype == torch.float64 and loss.item() == pytest.approx(0.25)
