import torch

from coursekit.vision.interpret import ClassificationInterpretation


def make_interp():
    # items 0-3 are class 0 ("cats"), 4-7 class 1 ("dogs")
    p_cat = torch.tensor([0.9, 0.6, 0.3, 0.1, 0.2, 0.45, 0.62, 0.05])
    probs = torch.stack([p_cat, 1 - p_cat], dim=1)
    targets = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    losses = -torch.log(probs[torch.arange(8), targets])
    return ClassificationInterpretation(probs, targets, losses, dataset=None, classes=["cats", "dogs"])


def test_confusion_matrix_counts_actual_by_predicted():
    interp = make_interp()
    # cats predicted: items 0,1 right; 2,3 wrong. dogs: 6 predicted cat, others right.
    assert interp.confusion_matrix().tolist() == [[2, 2], [1, 3]]
    assert interp.accuracy == 5 / 8
    assert interp.most_confused() == [("cats", "dogs", 2), ("dogs", "cats", 1)]


def test_most_correct_incorrect_and_uncertain_per_class():
    interp = make_interp()
    assert interp.most_correct("cats", 2) == [0, 1]
    assert interp.most_incorrect("cats", 5) == [3, 2]  # only the misclassified ones
    assert interp.most_correct("dogs", 2) == [7, 4]
    assert interp.most_incorrect("dogs", 1) == [6]
    assert interp.most_uncertain("dogs", 2) == [5, 6]  # top probabilities nearest 0.5 among dog-ish items


def test_top_losses_are_sorted_and_name_the_items():
    interp = make_interp()
    values, idxs = interp.top_losses(3)
    assert idxs[0] == 3 and values.tolist() == sorted(values.tolist(), reverse=True)
    # item 6 is a dog (p(dog) = 0.38) predicted cat: loss -log(0.38) = 0.97
    assert interp.title(6) == "cats/dogs\nloss 0.97, p(dogs)=0.38"


def test_confusion_matrix_matches_scikit_learn():
    from sklearn.metrics import confusion_matrix

    g = torch.Generator().manual_seed(0)
    probs = torch.rand(200, 4, generator=g).softmax(dim=1)
    targets = torch.randint(0, 4, (200,), generator=g)
    interp = ClassificationInterpretation(probs, targets, torch.zeros(200), None, list("abcd"))
    ref = confusion_matrix(targets.numpy(), probs.argmax(dim=1).numpy(), labels=range(4))
    assert interp.confusion_matrix().tolist() == ref.tolist()


def test_random_by_correct_picks_only_right_or_only_wrong_items_repeatably():
    interp = make_interp()  # right: 0, 1, 4, 5, 7; wrong: 2, 3, 6
    right, wrong = interp.random_by_correct(True, n=10), interp.random_by_correct(False, n=10)
    assert sorted(right) == [0, 1, 4, 5, 7] and sorted(wrong) == [2, 3, 6]
    assert interp.random_by_correct(True, n=3, seed=1) == interp.random_by_correct(True, n=3, seed=1)
    assert len(interp.random_by_correct(False, n=2)) == 2
