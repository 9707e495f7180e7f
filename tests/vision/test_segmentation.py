import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2 as T

from coursekit import metrics
from coursekit.vision import images, models, segmentation
from coursekit.samples.vision import make_camvid_sample


def blocky_image(seed=0, h=64, w=96):
    """Big blocks whose red channel is 0 or 255, so that 'red > 0.5' is a mask derived from the image."""
    rng = np.random.default_rng(seed)
    small = rng.random((h // 16, w // 16, 3))
    small[..., 0] = small[..., 0] > 0.5
    return (np.kron(small, np.ones((16, 16, 1))) * 255).astype(np.uint8)


def test_joint_transforms_keep_image_and_mask_aligned():
    arr = blocky_image()
    img = tv_tensors.Image(torch.from_numpy(arr).permute(2, 0, 1))
    mask = tv_tensors.Mask(torch.from_numpy((arr[..., 0] > 127).astype(np.int64)))
    tfm = segmentation.seg_train_tfms((40, 56))
    tfm.transforms = [t for t in tfm.transforms if not isinstance(t, T.ColorJitter)]  # keep colours exact
    for seed in range(5):
        torch.manual_seed(seed)
        x, y = tfm(img, mask)
        assert x.shape == (3, 40, 56) and y.shape == (40, 56) and y.dtype == torch.int64
        derived = (x[0] > 0.5).long()
        assert (derived == y).float().mean() > 0.95  # only block borders may differ (bilinear vs nearest)
        assert (derived == y.flip(-1)).float().mean() < 0.9 or (y == y.flip(-1)).all()  # and the test can tell
        assert set(y.unique().tolist()) <= {0, 1}  # nearest interpolation: no blended labels


def test_iou_on_hand_built_tensors():
    targets = torch.tensor([[0, 0, 1, 1], [2, 2, 2, 9]])  # 9 = void
    pred_labels = torch.tensor([[0, 1, 1, 1], [2, 2, 0, 0]])
    cm = metrics.confusion(pred_labels, targets, n_classes=10, ignore_index=9)
    iou = segmentation.iou_from_confusion(cm)
    # class 0: tp 1, fp 1 (pixel 6), fn 1 -> 1/3; class 1: tp 2, fp 1 -> 2/3; class 2: tp 2, fn 1 -> 2/3
    assert iou[:3].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert torch.isnan(iou[3:]).all()
    metric = segmentation.SegmentationIoU(10, void_index=9)
    metric.accumulate(torch.nn.functional.one_hot(pred_labels, 10).permute(2, 0, 1)[None].float(), targets[None])
    assert metric.value == pytest.approx((1 / 3 + 2 / 3 + 2 / 3) / 3)
    logits = torch.nn.functional.one_hot(pred_labels, 10).permute(2, 0, 1)[None].float()
    assert segmentation.pixel_accuracy(9)(logits, targets[None]).item() == pytest.approx(5 / 7)


def test_iou_and_pixel_accuracy_match_scikit_learn_with_void_left_out():
    from sklearn.metrics import accuracy_score, jaccard_score

    g = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 6, (3, 20, 30), generator=g)  # class 5 plays void
    logits = torch.randn(3, 6, 20, 30, generator=g) + 2 * torch.nn.functional.one_hot(targets, 6).permute(0, 3, 1, 2)
    keep = targets != 5
    truth, pred = targets[keep].numpy(), logits.argmax(dim=1)[keep].numpy()
    metric = segmentation.SegmentationIoU(6, void_index=5)
    metric.accumulate(logits, targets)
    ref = jaccard_score(truth, pred, labels=range(5), average=None)
    assert metric.per_class()[:5].tolist() == pytest.approx(ref.tolist())
    assert segmentation.pixel_accuracy(5)(logits, targets).item() == pytest.approx(accuracy_score(truth, pred))


@pytest.mark.parametrize("size", [(64, 64), (96, 128), (75, 101), (33, 47)])
def test_unet_output_has_the_input_size(size):
    model = models.unet_model("efficientnet_lite0", n_out=5, pretrained=False).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, *size)).shape == (1, 5, *size)


def test_unet_on_resnet_and_its_layer_groups():
    model = models.unet_model("resnet18", n_out=3, pretrained=False).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 70, 90)).shape == (1, 3, 70, 90)
    ids = [id(p) for g in model.layer_groups() for p in g.parameters()]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))


@pytest.fixture
def camvid(tmp_path):
    make_camvid_sample(tmp_path, seed=0, n=6)
    return tmp_path


def test_sample_loads_with_codes_and_aligned_batches(camvid):
    dls = segmentation.segmentation_dls(camvid, size=(48, 64), bs=2, valid_pct=0.34)
    assert dls.classes == segmentation.read_codes(camvid / "codes.txt") and len(dls.classes) == 32
    x, y = next(iter(dls.train))
    assert x.shape == (2, 3, 48, 64) and y.shape == (2, 48, 64) and y.max() < 32


def test_mask_of_the_wrong_size_names_the_file(camvid):
    mask = sorted((camvid / "labels").glob("*.png"))[2]
    Image.open(mask).resize((64, 48), Image.NEAREST).save(mask)
    with pytest.raises(segmentation.MaskError, match=mask.name):
        segmentation.segmentation_dls(camvid)


def test_label_value_missing_from_codes_names_the_file(camvid):
    mask = sorted((camvid / "labels").glob("*.png"))[1]
    arr = np.asarray(Image.open(mask)).copy()
    arr[0, 0] = 40
    Image.fromarray(arr, mode="L").save(mask)
    with pytest.raises(segmentation.MaskError, match=f"{mask.name}.*40"):
        segmentation.segmentation_dls(camvid)


def test_image_without_a_mask_is_named(camvid):
    victim = sorted((camvid / "labels").glob("*.png"))[0]
    victim.unlink()
    with pytest.raises(FileNotFoundError, match=victim.name):
        segmentation.segmentation_dls(camvid)


def test_unreadable_image_or_mask_is_named(camvid):
    image = sorted((camvid / "images").glob("*.png"))[3]
    image.write_bytes(b"not a png")
    with pytest.raises(images.BadImageError, match=image.name):
        segmentation.segmentation_dls(camvid)
    image.unlink()
    mask = segmentation.mask_path(image, camvid / "labels")
    mask.unlink()
    sorted((camvid / "labels").glob("*.png"))[0].write_bytes(b"\x89PNG junk")
    with pytest.raises(segmentation.MaskError, match="Cannot read mask"):
        segmentation.segmentation_dls(camvid)


def test_show_segmentation_draws_image_truth_and_prediction_rows(camvid):
    dls = segmentation.segmentation_dls(camvid, size=(48, 64), bs=3, valid_pct=0.34)
    xb, yb = next(iter(dls.train))
    codes = segmentation.read_codes(camvid / "codes.txt")
    fig = segmentation.show_segmentation(xb, yb, yb.flip(-1), codes=codes, n=2)
    assert len(fig.axes) == 2 * 3 and [ax.get_title() for ax in fig.axes[:3]] == ["image", "truth", "prediction"]
    assert len(segmentation.show_segmentation(xb, yb, codes=codes, n=2).axes) == 2 * 2


def pixel_learner(camvid, metrics=()):
    """A per-pixel model (a 1x1 convolution) on the sample: each pixel's scores depend on that pixel alone."""
    from torch import nn
    from coursekit.learner import Learner

    torch.manual_seed(0)
    dls = segmentation.segmentation_dls(camvid, size=(48, 64), bs=2, valid_pct=0.5)
    void = dls.classes.index("Void")
    return Learner(
        nn.Conv2d(3, len(dls.classes), 1),
        dls,
        nn.CrossEntropyLoss(ignore_index=void),
        lr=1e-2,
        metrics=metrics,
        device="cpu",
    ), void


def test_a_segmentation_validation_pass_keeps_counts_not_outputs(camvid):
    dls = segmentation.segmentation_dls(camvid, size=(48, 64), bs=2, valid_pct=0.5)
    n, void = len(dls.classes), dls.classes.index("Void")
    iou = segmentation.SegmentationIoU(n, void)
    learn, _ = pixel_learner(camvid, metrics=[segmentation.pixel_accuracy(void), iou])
    learn.fit(1)
    for m in learn.recorder.metrics:  # no per-batch outputs kept: only counts
        state = vars(m).values()
        assert not any(isinstance(v, (list, tuple)) for v in state), m
        assert all(v.numel() <= n * n for v in state if isinstance(v, torch.Tensor)), m
    mean_iou = iou.value
    preds, targets = learn.get_preds()
    assert iou.value == mean_iou  # predicting afterwards leaves the fit's metrics alone (lesson 3 reads it then)
    assert learn.recorder.last_metrics["pixel_accuracy"] == pytest.approx(
        segmentation.pixel_accuracy(void)(preds, targets).item(), abs=1e-6
    )
    assert mean_iou == pytest.approx(segmentation.SegmentationIoU(n, void)(preds, targets).item(), abs=1e-6)


def test_tta_on_per_pixel_outputs_flips_the_input_and_the_prediction_back(camvid):
    learn, _ = pixel_learner(camvid)
    preds, targets = learn.get_preds()
    tta_preds, tta_targets = learn.tta(n=4)
    assert torch.equal(tta_targets, targets)
    assert torch.allclose(tta_preds, preds, atol=1e-6)  # a per-pixel model sees the same pixels, mirrored


def test_predict_on_an_image_gives_a_mask_of_class_indices(camvid):
    learn, _ = pixel_learner(camvid)
    x, _ = learn.dls.valid_ds[0]
    mask, idx, probs = learn.predict(x)
    assert mask.shape == (48, 64) and torch.equal(mask, idx) and probs.shape == (len(learn.dls.classes), 48, 64)
    assert torch.equal(mask, probs.argmax(dim=0))


def test_valid_txt_names_are_matched_by_file_name_or_else_without_the_extension(camvid):
    names = sorted(p.name for p in (camvid / "images").glob("*.png"))
    (camvid / "valid.txt").write_text(f"{names[0]}\n{names[1][:-4]}\n")  # a file name, and one without extension
    dls = segmentation.segmentation_dls(camvid, size=(48, 64), bs=2)
    assert [p.name for p in dls.valid_ds.items] == names[:2] and len(dls.train_ds) == 4
    (camvid / "valid.txt").write_text("".join(n.replace(".png", ".jpg") + "\n" for n in names[:3]))  # .jpg on the list
    with pytest.warns(
        UserWarning,
        match=r"valid.txt names 3 image\(s\) with another extension than on disk, for "
        r"example 0001SS_000000.jpg; matched by the name without the extension",
    ):
        dls = segmentation.segmentation_dls(camvid, size=(48, 64), bs=2)
    assert [p.name for p in dls.valid_ds.items] == names[:3]


def test_valid_txt_that_matches_no_image_is_an_error_naming_both_sides(camvid):
    (camvid / "valid.txt").write_text("seq05_0001.png\nseq05_0002.png\n")
    with pytest.raises(
        ValueError,
        match=r"None of the 2 names in .*valid.txt matches an image: it lists "
        r"seq05_0001.png, "
        r"seq05_0002.png; the images are 0001SS_000000.png, 0001SS_000001.png, "
        r"0001SS_000002.png and 3 more. List the validation images' file names",
    ):
        segmentation.segmentation_dls(camvid)
    (camvid / "valid.txt").write_text("0001SS_000000.png\nseq05_0002.png\n")
    with pytest.warns(UserWarning, match=r"1 name\(s\) in .*valid.txt match no image .*: seq05_0002.png"):
        assert len(segmentation.segmentation_dls(camvid).valid_ds) == 1
    (camvid / "valid.txt").write_text("\n")
    with pytest.raises(ValueError, match=r"None of the 0 names .* it lists nothing"):
        segmentation.segmentation_dls(camvid)


def test_an_empty_random_validation_split_is_an_error(camvid):
    with pytest.raises(ValueError, match=r"The validation set is empty \(training: 6 items, validation: 0\)"):
        segmentation.segmentation_dls(camvid, valid_pct=0.05)
