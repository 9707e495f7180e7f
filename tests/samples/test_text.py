"""The IMDB sample: the aclImdb layout, deterministic, varied on the surface, and decided by word order."""

import random
import re
import time

import pytest

from coursekit.samples.text import make_imdb_sample, review
from coursekit.text.reading import read_imdb_folder


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    dest = tmp_path_factory.mktemp("imdb")
    return dest, make_imdb_sample(dest, seed=0)


def test_the_sample_has_the_aclimdb_layout_and_file_names(sample):
    dest, n = sample
    counts = {
        f"{s}/{c}": len(list((dest / s / c).glob("*.txt")))
        for s, c in [("train", "pos"), ("train", "neg"), ("train", "unsup"), ("test", "pos"), ("test", "neg")]
    }
    assert counts == {"train/pos": 500, "train/neg": 500, "train/unsup": 4000, "test/pos": 400, "test/neg": 400}
    assert n == sum(counts.values())
    ratings = {
        c: {int(re.match(r"\d+_(\d+)\.txt", f.name).group(1)) for f in (dest / "train" / c).iterdir()}
        for c in ("pos", "neg", "unsup")
    }
    assert ratings["pos"] <= set(range(7, 11)) and ratings["neg"] <= set(range(1, 5)) and ratings["unsup"] == {0}
    assert len(ratings["pos"]) > 1 and len(ratings["neg"]) > 1


def test_generating_is_fast():
    rng = random.Random(0)
    start = time.process_time()  # CPU time, and no files: a busy machine or disk slows the clock, not the work
    for label in [1, -1] * 2900:  # as many reviews as the sample has
        review(rng, label)
    assert time.process_time() - start < 1.5  # about 0.35 s; writing the 5,800 files takes about as long again


def test_the_same_seed_writes_the_same_reviews(tmp_path):
    small = dict(n_train=40, n_test=20, n_unsup=20)
    make_imdb_sample(tmp_path / "a", seed=3, **small)
    make_imdb_sample(tmp_path / "b", seed=3, **small)
    make_imdb_sample(tmp_path / "c", seed=4, **small)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.txt"))
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert read_imdb_folder(tmp_path / "a", "train")[0] != read_imdb_folder(tmp_path / "c", "train")[0]


def test_reviews_have_the_surface_variety_the_tokenizer_rules_handle(sample):
    texts = read_imdb_folder(sample[0], "train")[0]
    joined = " ".join(texts)
    assert sum("<br /><br />" in t for t in texts) > 0.8 * len(texts) and "<i>" in joined
    assert re.search(r"\b[A-Z]{4,}\b", joined)  # ALL-CAPS words
    assert re.search(r"(\w)\1{3,}", joined)  # sooooo
    assert re.search(r"\b(\w+) \1 \1\b", joined)  # very very very
    assert re.search(r"\(\d{4}\)", joined) and "$" in joined  # numbers
    assert "!!!" in joined and "..." in joined and ", but " in joined
    assert re.search(r"\b(not|never) \w+", joined)
    assert 30 < sum(len(t.split()) for t in texts) / len(texts) < 120


def test_each_label_is_the_sign_of_its_weighted_opinions():
    rng = random.Random(0)
    mixed = no_verdict = 0
    for label in [1, -1] * 200:
        text, parts = review(rng, label)
        assert sum(p * w for p, w in parts) * label > 0
        mixed += any(p != label for p, _ in parts)
        no_verdict += parts[-1][1] != 3
    assert mixed > 0.3 * 400 and no_verdict > 0.05 * 400  # no single sentence decides every review


def test_a_bag_of_words_cannot_tell_the_classes_apart_and_word_order_helps(sample):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train, test = read_imdb_folder(sample[0], "train"), read_imdb_folder(sample[0], "test")
    scores = {}
    for n in (1, 3):  # single words, then also runs of 2 and 3 neighbouring words ("not a dull")
        vec = CountVectorizer(ngram_range=(1, n), token_pattern=r"[a-zA-Z]+|[^\sa-zA-Z]")
        model = LogisticRegression(solver="liblinear").fit(vec.fit_transform(train[0]), train[1])
        scores[n] = model.score(vec.transform(test[0]), test[1])
    assert scores[1] < 0.7  # the same words in both classes: about 0.57
    assert scores[3] > scores[1] + 0.1  # word order carries the sentiment: about 0.73, rare words hold it back
