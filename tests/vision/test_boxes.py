import matplotlib
import pytest
import torch
from PIL import Image

from coursekit.vision import boxes

matplotlib.use("Agg")


def test_conversions_round_trip_through_every_format():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(20, 2, generator=g) * 100
    b = torch.cat([xy, xy + 1 + torch.rand(20, 2, generator=g) * 50], dim=1)
    for fmt in boxes.FORMATS:
        assert torch.allclose(boxes.convert_boxes(boxes.convert_boxes(b, "xyxy", fmt), fmt, "xyxy"), b, atol=1e-4)


def test_coco_boxes_become_corners_and_back():
    assert boxes.coco_to_xyxy([10, 20, 30, 40]).tolist() == [10, 20, 40, 60]
    assert boxes.xyxy_to_coco([[10, 20, 40, 60]]).tolist() == [[10, 20, 30, 40]]
    assert boxes.convert_boxes([1, 2, 3, 4], "xyxy", "yxyx").tolist() == [2, 1, 4, 3]
    assert boxes.convert_boxes([0, 0, 10, 20], "xyxy", "cxcywh").tolist() == [5, 10, 10, 20]


def test_conversion_keeps_batch_shapes_and_rejects_bad_input():
    assert boxes.convert_boxes(torch.zeros(2, 3, 4), "xywh", "xyxy").shape == (2, 3, 4)
    with pytest.raises(ValueError, match="unknown box format"):
        boxes.convert_boxes([0, 0, 1, 1], "ltrb", "xyxy")
    with pytest.raises(ValueError, match="4 numbers"):
        boxes.convert_boxes([0, 0, 1], "xyxy", "xywh")


def test_box_area_and_scaling():
    assert boxes.box_area([[0, 0, 10, 5], [2, 2, 1, 1]]).tolist() == [50, 0]
    assert boxes.scale_boxes([[10, 20, 50, 100]], 100, 200).tolist() == [pytest.approx([0.1, 0.1, 0.5, 0.5])]


def test_a_box_inside_its_image_passes_unchanged(recwarn):
    assert boxes.check_box([1, 2, 30, 40], 50, 50, "ann 0") == [1, 2, 30, 40]
    assert not recwarn.list


def test_a_box_sticking_out_is_clipped_with_a_warning_naming_it():
    with pytest.warns(UserWarning, match="ann 7.*clipped to \\[0, 5, 50, 40\\]"):
        assert boxes.check_box([-3, 5, 52, 40], 50, 45, "ann 7") == [0, 5, 50, 40]


@pytest.mark.parametrize(
    "box, what", [([5, 5, 5, 20], "width"), ([5, 20, 30, 20], "height"), ([30, 5, 10, 20], "width")]
)
def test_a_box_of_zero_width_or_height_is_an_error_naming_it(box, what):
    with pytest.raises(ValueError, match=f"annotation 3.*zero or negative {what}"):
        boxes.check_box(box, 50, 50, "annotation 3")


def test_a_box_wholly_outside_or_not_finite_is_an_error():
    with pytest.raises(ValueError, match="ann 1.*wholly outside"):
        boxes.check_box([60, 60, 70, 70], 50, 50, "ann 1")
    with pytest.raises(ValueError, match="ann 2.*not finite"):
        boxes.check_box([0, 0, float("nan"), 10], 50, 50, "ann 2")


@pytest.mark.parametrize("box", [[1, 2, 3], None, [1, 2, "x", 4]])
def test_a_box_that_is_not_4_numbers_is_an_error_naming_it(box):
    with pytest.raises(ValueError, match=r"ann 4: the box .* is not 4 numbers \[x0, y0, x1, y1\]"):
        boxes.check_box(box, 50, 50, "ann 4")


def test_show_boxes_draws_a_rectangle_and_a_name_per_real_box():
    img = Image.new("RGB", (64, 48), (120, 120, 120))
    ax = boxes.show_boxes(
        img, [[0.1, 0.1, 0.5, 0.5], [0, 0, 0, 0]], labels=[1, -1], classes=["cat", "dog"], scores=[0.9, 0.1]
    )
    assert len(ax.patches) == 1
    assert [t.get_text() for t in ax.texts] == ["dog 0.90"]
    x0, y0 = ax.patches[0].get_xy()
    assert (x0, y0) == pytest.approx((6.4, 4.8))  # fractions scaled to the image's pixels
    matplotlib.pyplot.close("all")
