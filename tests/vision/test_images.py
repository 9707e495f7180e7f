import shutil
import warnings

import pytest

from coursekit.vision import images, loaders


@pytest.fixture
def damaged(sample, tmp_path):
    """A copy of the sample with a truncated JPEG among the cats and a text file among the dogs."""
    path = tmp_path / "data"
    shutil.copytree(sample, path)
    good = next((path / "train" / "cats").glob("*.jpg"))
    (path / "train" / "cats" / "broken.jpg").write_bytes(good.read_bytes()[:300])
    (path / "train" / "dogs" / "notes.txt").write_text("not an image")
    return path


def test_get_image_files_lists_images_sorted_and_names_the_others_once(damaged):
    with pytest.warns(UserWarning, match="1 file.*notes.txt") as caught:
        files = images.get_image_files(damaged / "train")
    assert len(caught) == 1 and len(files) == 17 and files == sorted(files)
    assert all(f.suffix == ".jpg" for f in files)
    assert images.get_image_files(damaged / "train", recurse=False) == []  # only class folders at the top
    with pytest.raises(FileNotFoundError, match="nowhere"):
        images.get_image_files(damaged / "nowhere")


def test_load_image_gives_rgb_or_an_error_naming_the_file(sample, damaged, tmp_path):
    img = images.load_image(next((sample / "train" / "dogs").glob("*.jpg")))
    assert img.mode == "RGB" and min(img.size) >= 140
    with pytest.raises(images.BadImageError, match="broken.jpg") as raised:
        images.load_image(damaged / "train" / "cats" / "broken.jpg").load()
    assert raised.value.path.name == "broken.jpg"
    with pytest.raises(images.BadImageError, match="gone.jpg.*No such file.*Check the path"):
        images.load_image(tmp_path / "gone.jpg")


def test_verify_images_lists_each_unreadable_file_with_the_reason(damaged):
    with pytest.warns(UserWarning, match="notes.txt"):
        found = images.verify_images(damaged)
    assert [p.name for p, _ in found] == ["broken.jpg"] and found[0][1]  # the reason PIL gave


def test_good_indices_warns_raises_or_checks_nothing(damaged):
    items = sorted((damaged / "train" / "cats").glob("*.jpg"))  # broken.jpg sorts first
    assert items[0].name == "broken.jpg"
    with pytest.warns(UserWarning, match=r"(?s)Leaving out 1 unreadable image.*broken.jpg"):
        assert images.good_indices(items) == list(range(1, len(items)))
    with pytest.raises(images.BadImageError, match="broken.jpg.*1 unreadable in all"):
        images.good_indices(items, on_bad="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no check, no warning
        assert images.good_indices(items, on_bad=None) == list(range(len(items)))
    with pytest.raises(ValueError, match="on_bad"):
        images.good_indices(items, on_bad="skip")


def test_show_images_draws_a_grid_with_titles(sample):
    import matplotlib
    matplotlib.use("Agg")
    imgs = [images.load_image(p) for p in sorted((sample / "valid" / "cats").glob("*.jpg"))[:3]]
    fig = images.show_images(imgs, titles=["a", "b", "c"], ncols=2)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 4 and [ax.get_title() for ax in drawn] == ["a", "b", "c"]


def test_show_batch_draws_a_grid(sample):
    import matplotlib
    matplotlib.use("Agg")
    dls = loaders.image_dls_from_folder(sample, size=32, bs=4)
    fig = images.show_batch(dls, n=4, ncols=2)
    assert len([ax for ax in fig.axes if ax.images]) == 4
    assert fig.axes[0].get_title() in ("cats", "dogs")


def test_show_batch_joins_tags_for_multi_label(sample, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    cats = sorted((sample / "train" / "cats").glob("*.jpg"))
    (tmp_path / "labels.csv").write_text("image_name,tags\n" + "".join(f"{p.stem},a b\n" for p in cats))
    dls = loaders.image_dls_from_csv(tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", label_delim=" ",
                                    size=32, bs=2)
    fig = images.show_batch(dls.valid, n=2, ncols=2)
    assert fig.axes[0].get_title() == "a b"
