import os
import shutil
import warnings

import numpy as np
import pytest
from PIL import Image

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


def test_show_images_wraps_long_titles_so_neighbours_do_not_overlap(sample):
    import matplotlib

    matplotlib.use("Agg")
    imgs = [images.load_image(p) for p in sorted((sample / "valid" / "cats").glob("*.jpg"))[:3]]
    tags = "agriculture cultivation partly_cloudy primary road water"  # lesson 2's longest, as show_batch joins them
    fig = images.show_images(imgs, titles=[tags, tags, f"pred: clear\ntrue: {tags}"], ncols=3)
    fig.canvas.draw()
    boxes = [ax.title.get_window_extent() for ax in fig.axes]
    assert all(left.x1 <= right.x0 for left, right in zip(boxes, boxes[1:]))
    assert [ax.get_title().replace("\n", " ") for ax in fig.axes] == [tags, tags, f"pred: clear true: {tags}"]


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
    dls = loaders.image_dls_from_csv(
        tmp_path, "labels.csv", cats[0].parent, suffix=".jpg", label_delim=" ", size=32, bs=2
    )
    fig = images.show_batch(dls.valid, n=2, ncols=2)
    assert fig.axes[0].get_title() == "a b"


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 32).reshape(32, 64).astype(np.uint16)  # black to white
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    arr = np.asarray(images.load_image(tmp_path / "deep.png"))
    assert arr.shape == (32, 64, 3) and (arr[..., 0] == arr[..., 2]).all()
    assert np.abs(arr[..., 0].astype(int) - np.round(ramp / 257)).max() <= 1  # not 255 from the first grey up
    assert (arr == 255).mean() < 0.01


def test_transparent_pixels_show_the_white_background_not_their_hidden_colour(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255  # red everywhere...
    rgba[:, :4, 3] = 255  # ...but only the left half is opaque
    rgba[:, 4:6, 3] = 128  # and two columns half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    arr = np.asarray(images.load_image(tmp_path / "rgba.png")).astype(int)
    assert (arr[:, :4] == [255, 0, 0]).all() and (arr[:, 6:] == 255).all()
    assert (abs(arr[:, 4:6] - [255, 127, 127]) <= 1).all()  # half red on white
    la = np.stack([np.full((8, 8), 30, np.uint8), np.zeros((8, 8), np.uint8)], -1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert (np.asarray(images.load_image(tmp_path / "la.png")) == 255).all()
    pal = Image.fromarray(np.array([[0, 1]] * 4, np.uint8), "P")
    pal.putpalette([0, 0, 255, 255, 0, 0] + [0] * 762)
    pal.save(tmp_path / "p.png", transparency=1)  # index 1 (red) is the transparent one
    arr = np.asarray(images.load_image(tmp_path / "p.png"))
    assert (arr[:, 0] == [0, 0, 255]).all() and (arr[:, 1] == 255).all()


def test_a_jpeg_is_turned_upright_by_its_exif_orientation(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20, 0] = 255  # stored: red on the left of a landscape image
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view", as a phone held upright writes
    Image.fromarray(arr).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    img = images.load_image(tmp_path / "phone.jpg")
    assert img.size == (20, 40)  # portrait, as a viewer shows it
    upright = np.asarray(img).astype(int)
    assert upright[:20, :, 0].mean() > 200 and upright[20:, :, 0].mean() < 50  # red is now on top
    assert images.image_size(tmp_path / "phone.jpg") == (20, 40)  # from the header, for checking masks


def test_symbolic_links_are_followed_and_a_loop_is_named(sample, tmp_path):
    path = tmp_path / "data"
    shutil.copytree(sample, path)
    shutil.move(path / "train" / "dogs", tmp_path / "dogs_elsewhere")
    os.symlink(tmp_path / "dogs_elsewhere", path / "train" / "dogs")  # a class folder that is a link
    os.symlink(path / "train", tmp_path / "dogs_elsewhere" / "back_up")  # a loop
    os.symlink(tmp_path / "nothing_there", path / "train" / "cats" / "gone.jpg")
    with pytest.warns(UserWarning) as caught:
        files = images.get_image_files(path / "train")
    assert len(files) == 16 and sum(f.parent.name == "dogs" for f in files) == 8
    text = "\n".join(str(w.message) for w in caught)
    assert "Not following 1 symbolic link(s) that lead back to a folder they are in (a loop): " in text
    assert "back_up" in text and "Skipping 1 symbolic link(s) that point to nothing" in text and "gone.jpg" in text


def test_hidden_files_and_folders_are_skipped_at_every_depth(sample, tmp_path):
    path = tmp_path / "data"
    shutil.copytree(sample, path)
    cat = next((path / "train" / "cats").glob("*.jpg"))
    (path / "train" / "cats" / ".ipynb_checkpoints").mkdir()
    shutil.copy(cat, path / "train" / "cats" / ".ipynb_checkpoints" / "cat-checkpoint.jpg")
    (path / "train" / "cats" / "._cat.0.jpg").write_bytes(b"macOS resource fork")  # not an image
    (path / "train" / ".DS_Store").write_bytes(b"\0\0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: hidden files are not the data
        files = images.get_image_files(path / "train")
        dls = loaders.image_dls_from_folder(path, size=16)
    assert len(files) == 16 and not any("checkpoint" in str(f) or f.name.startswith(".") for f in files)
    assert len(dls.train_ds) == 16
