"""The generated English/French questions: the giga-fren layout, deterministic, and French as it should be."""

import hashlib

from coursekit.samples import translation
from coursekit.text import pairs


def read(folder):
    en = (folder / translation.EN_FILE).read_text(encoding="utf-8").splitlines()
    fr = (folder / translation.FR_FILE).read_text(encoding="utf-8").splitlines()
    return en, fr


def test_translation_sample_has_the_giga_fren_layout_and_the_filter_has_work(tmp_path):
    translation.make_translation_sample(tmp_path, seed=0, n_pairs=300, n_fillers=20)
    en, fr = read(tmp_path)
    assert len(en) == len(fr) == 320
    kept = pairs.read_giga_fren(tmp_path)
    assert len(kept) == 300  # the 20 statements and non-"Wh" questions are dropped
    assert all(e.startswith("Wh") and e.endswith("?") and f.endswith(" ?") for e, f in kept)


def test_translation_sample_is_deterministic_from_its_seed(tmp_path):
    digests = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        translation.make_translation_sample(tmp_path / name, seed=seed, n_pairs=50, n_fillers=5)
        en, fr = read(tmp_path / name)
        digests.append(hashlib.sha256("".join(en + fr).encode()).hexdigest())
    assert digests[0] == digests[1] != digests[2]


def test_translation_sample_has_long_sentences_and_a_few_hundred_words(tmp_path):
    translation.make_translation_sample(tmp_path, seed=0, n_pairs=2000, n_fillers=0)
    en, fr = read(tmp_path)
    lengths = [len(s.split()) for s in en]
    assert max(lengths) <= 25 and sum(n >= 15 for n in lengths) > 300 and min(lengths) <= 5
    assert sum(len(e.split()) != len(f.split()) for e, f in zip(en, fr)) > 1000  # different lengths on each side
    for words in ({w.lower() for s in en for w in s.split()}, {w.lower() for s in fr for w in s.split()}):
        assert 200 <= len(words) <= 800


def test_french_adjectives_follow_the_noun_and_agree():
    import random

    rng = random.Random(0)
    for _ in range(300):
        np = translation.noun_phrase(rng, 0)
        if len(np.en) == 3:  # "the ADJ NOUN"
            adj = next(a for a in translation.ADJECTIVES if a[0] == np.en[1])
            form = adj[1 + (np.gender == "f") + 2 * np.plural]
            assert np.fr.endswith(" " + form)  # "la voiture rouge", "les maisons blanches"
            assert np.fr.split()[0] in ("le", "la", "les") or np.fr.startswith("l'")


def test_questions_invert_the_subject_in_french():
    en, fr = translation.question(__import__("random").Random(3), depth=0)
    cat = translation.Phrase(["the", "cat"], "le chat", "m", False)
    cars = translation.Phrase(["the", "cars"], "les voitures", "f", True)
    assert translation.inverted(("eat", "eats", "mange", "mangent"), cat) == "mange-t-il"
    assert translation.inverted(("eat", "eats", "mange", "mangent"), cars) == "mangent-elles"
    assert translation.inverted(("take", "takes", "prend", "prennent"), cat) == "prend-il"
    assert en.endswith("?") and fr.endswith(" ?")
