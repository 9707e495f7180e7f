import pytest
import torch

from coursekit import metrics


def test_fbeta_hand_worked():
    targets = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0]])
    probs = torch.tensor([[0.9, 0.1, 0.8, 0.1], [0.7, 0.6, 0.6, 0.1]])
    # item 1: predicts tags 0,2: tp 1, precision 1/2, recall 1/2 -> F2 = 5*.25/(4*.5+.5) = 0.5
    # item 2: predicts 0,1,2: tp 1, precision 1/3, recall 1 -> F2 = 5*(1/3)/(4/3+1) = 5/7
    expected = (0.5 + 5 / 7) / 2
    assert metrics.fbeta_from_probs(probs, targets, beta=2, thresh=0.5).item() == pytest.approx(expected, abs=1e-6)
    logits = torch.logit(probs)
    assert metrics.fbeta(logits, targets, beta=2, thresh=0.5).item() == pytest.approx(expected, abs=1e-6)
    f1 = metrics.fbeta_from_probs(probs, targets, beta=1, thresh=0.5).item()
    assert f1 == pytest.approx((0.5 + 0.5) / 2, abs=1e-6)


def test_fbeta_matches_scikit_learn():
    from sklearn import metrics as sklearn_metrics

    g = torch.Generator().manual_seed(0)
    targets = (torch.rand(50, 7, generator=g) < 0.3).float()
    targets[:, 0] = 1  # every item has a tag, as in the Planet data
    probs = torch.rand(50, 7, generator=g)
    ours = metrics.fbeta_from_probs(probs, targets, beta=2, thresh=0.4).item()
    ref = sklearn_metrics.fbeta_score(
        targets.numpy(), (probs > 0.4).numpy(), beta=2, average="samples", zero_division=0
    )
    assert ours == pytest.approx(ref, abs=1e-6)


def test_threshold_search_finds_the_best_cut():
    targets = torch.tensor([[1, 0], [0, 1], [1, 1]])
    probs = torch.tensor([[0.35, 0.1], [0.2, 0.3], [0.4, 0.32]])  # every true tag is above 0.25, every false below
    t, score = metrics.best_threshold(probs, targets, beta=2)
    assert 0.2 <= t < 0.3 and score == pytest.approx(1.0, abs=1e-6)


def test_multi_label_accuracy_counts_every_decision():
    targets = torch.tensor([[1, 0, 1, 0]])
    logits = torch.tensor([[3.0, -2.0, -1.0, 1.0]])  # right, right, wrong, wrong
    assert metrics.accuracy_multi(logits, targets).item() == 0.5


def batches(preds, targets, sizes):
    """Split full tensors into uneven batches, as a loader's last batch is."""
    return zip(preds.split(sizes), targets.split(sizes))


def test_a_plain_function_is_averaged_batch_by_batch_weighted_by_batch_size():
    g = torch.Generator().manual_seed(0)
    preds, targets = torch.randn(50, 4, generator=g), torch.randint(0, 4, (50,), generator=g)
    m = metrics.as_metric(metrics.accuracy)
    assert isinstance(m, metrics.AvgMetric) and m.name == "accuracy"
    for p, t in batches(preds, targets, [16, 16, 16, 2]):
        m.accumulate(p, t)
    assert isinstance(m.total, torch.Tensor)  # a running sum where the outputs are, read once at the end
    assert m.value == pytest.approx(metrics.accuracy(preds, targets).item(), abs=1e-6)
    m.reset()
    assert m.value != m.value  # nan before any batch


def test_a_plain_function_of_several_targets_gets_them_all_and_is_weighted_by_items():
    """Lesson 8's data carry a box and a label per image: its metrics are ``fn(preds, box, label)``."""
    g = torch.Generator().manual_seed(2)
    preds, box, label = torch.randn(30, 7, generator=g), torch.rand(30, 4, generator=g), torch.randint(0, 3, (30,))

    def class_acc(preds, box, label):
        return (preds[:, 4:].argmax(1) == label).float().mean()

    m = metrics.as_metric(class_acc)
    for p, b, lab in zip(preds.split([16, 10, 4]), box.split([16, 10, 4]), label.split([16, 10, 4])):
        m.accumulate(p, b, lab)
    assert m.value == pytest.approx(class_acc(preds, box, label).item(), abs=1e-6)
    assert m(preds, box, label).item() == pytest.approx(m.value, abs=1e-6)


def test_per_item_f_beta_and_multi_label_accuracy_are_exact_batch_by_batch():
    g = torch.Generator().manual_seed(1)
    logits, targets = torch.randn(37, 5, generator=g), (torch.rand(37, 5, generator=g) < 0.4).float()
    for fn in (metrics.f2, metrics.accuracy_multi):
        m = metrics.as_metric(fn)
        for p, t in batches(logits, targets, [10, 10, 10, 7]):
            m.accumulate(p, t)
        assert m.value == pytest.approx(fn(logits, targets).item(), abs=1e-6)


def test_whole_pass_keeps_the_outputs_and_calls_the_function_once():
    @metrics.whole_pass
    def rmse(preds, targets):
        return ((preds - targets) ** 2).mean().sqrt()

    preds, targets = torch.tensor([0.0, 0.0, 0.0, 3.0]), torch.zeros(4)
    m = metrics.as_metric(rmse)
    assert isinstance(m, metrics.AccumulatedMetric)
    for p, t in batches(preds, targets, [2, 2]):
        m.accumulate(p, t)
    assert m.value == pytest.approx(1.5)  # sqrt(9 / 4); a batch mean of RMSEs would say 0.75
    assert metrics.as_metric(rmse) is not m  # each Learner gets its own


def test_calling_a_metric_on_tensors_leaves_a_running_pass_alone():
    m = metrics.as_metric(metrics.accuracy)
    m.accumulate(torch.tensor([[1.0, 0.0]]), torch.tensor([0]))
    on_tensors = m(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([1, 1]))
    assert on_tensors.item() == 0.0 and m.value == 1.0


def test_confusion_counts_actual_by_predicted_leaving_out_ignore_index():
    targets = torch.tensor([0, 0, 1, 2, 2, 255])
    preds = torch.tensor([0, 1, 1, 2, 0, 1])
    assert metrics.confusion(preds, targets, 3, ignore_index=255).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_one_multi_label_threshold_default_and_f2_keeps_the_planet_one():
    import inspect

    defaults = {
        fn.__name__: inspect.signature(fn).parameters["thresh"].default
        for fn in (metrics.fbeta, metrics.fbeta_from_probs, metrics.accuracy_multi)
    }
    assert set(defaults.values()) == {metrics.MULTI_LABEL_THRESHOLD} == {0.5}
    logits = torch.logit(torch.tensor([[0.3, 0.6, 0.1]]))
    targets = torch.tensor([[1, 1, 0]])
    assert metrics.f2(logits, targets).item() == pytest.approx(1.0, abs=1e-6)  # 0.3 counts at 0.2
    assert metrics.fbeta(logits, targets).item() < 1.0  # and not at 0.5


def test_batchwise_accuracy_inside_fit_equals_accuracy_on_all_predictions(synth_learner):
    learn = synth_learner(bs=8, metrics=[metrics.accuracy])  # validation batches of 16, 16, 16 and 4
    learn.fit(1)
    probs, targets = learn.get_preds()
    assert learn.recorder.last_metrics["accuracy"] == pytest.approx(metrics.accuracy(probs, targets).item(), abs=1e-6)
