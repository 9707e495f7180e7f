"""Small mode's text layouts (``coursekit.small_builders``): fast.ai's imdb_sample and Tatoeba's fra.txt become the
layouts lessons 4, 10 and 11 read, and the lessons' own readers read them back (files in tmp_path only)."""

import pytest

from coursekit import datasets, small, small_builders
from coursekit.text import pairs, reading

TEXTS = (
    "label,text,is_valid\n"
    'negative,"Dull, and far too long.",False\n'
    'positive,"A joy from start to end, ""really"".",False\n'
    "positive,Loved it.,True\n"
    "negative,Not for me.,true\n"
)


def test_imdb_sample_becomes_the_aclimdb_layout_its_valid_rows_the_test_split(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "texts.csv").write_text(TEXTS)
    small_builders.imdb_folders(tmp_path / "src", tmp_path / "imdb")
    texts, labels, files = reading.read_imdb_folder(tmp_path / "imdb", "train")
    assert list(zip(texts, labels)) == [
        ("Dull, and far too long.", "neg"),
        ('A joy from start to end, "really".', "pos"),
    ]
    assert [f.name for f in files] == ["0000.txt", "0001.txt"]  # named by their row: imdb_sample has no ratings
    texts, labels, _ = reading.read_imdb_folder(tmp_path / "imdb", "test")
    assert list(zip(texts, labels)) == [("Not for me.", "neg"), ("Loved it.", "pos")]
    assert not (tmp_path / "imdb" / "train" / "unsup").exists()  # it has no unlabelled reviews


@pytest.mark.parametrize(
    "row, says",
    [
        ("neutral,So-so.,False", "'neutral'"),
        ("positive,Fine.,maybe", "'maybe'"),
        ("positive,,False", "0 characters"),
    ],
)
def test_a_bad_imdb_sample_row_is_an_error_naming_its_line(tmp_path, row, says):
    (tmp_path / "texts.csv").write_text(TEXTS + row + "\n")
    with pytest.raises(ValueError, match=f"review 5 \\(line 6\\).*{says}"):
        small_builders.imdb_folders(tmp_path, tmp_path / "imdb")


def test_imdb_sample_without_its_columns_or_file_says_what_it_expects(tmp_path):
    with pytest.raises(FileNotFoundError, match="texts.csv"):
        small_builders.imdb_folders(tmp_path, tmp_path / "imdb")
    (tmp_path / "texts.csv").write_text("sentiment,review\npositive,Fine.\n")
    with pytest.raises(ValueError, match="label,text,is_valid"):
        small_builders.imdb_folders(tmp_path, tmp_path / "imdb")


def test_tatoeba_pairs_become_aligned_giga_fren_files_that_the_lesson_filters_to_questions(tmp_path):
    (tmp_path / "fra.txt").write_text(
        "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org\n"
        "What is it?\tQu'est-ce que c'est ?\n"
        "\n"
        "Why not?\tPourquoi pas ?\n"
        "Who knows.\tQui sait.\n",
        encoding="utf-8",
    )
    small_builders.giga_fren_files(tmp_path, tmp_path / "giga")
    en = (tmp_path / "giga" / pairs.EN_FILE).read_text().splitlines()
    fr = (tmp_path / "giga" / pairs.FR_FILE).read_text().splitlines()
    assert en == ["Go.", "What is it?", "Why not?", "Who knows."] and len(fr) == 4 and fr[1] == "Qu'est-ce que c'est ?"
    assert pairs.read_giga_fren(tmp_path / "giga") == [
        ("What is it?", "Qu'est-ce que c'est ?"),
        ("Why not?", "Pourquoi pas ?"),
    ]
    (tmp_path / "fra.txt").write_text("What is it?\tQu'est-ce que c'est ?\nWhy not? Pourquoi pas ?\n")
    with pytest.raises(ValueError, match="line 2"):
        small_builders.giga_fren_files(tmp_path, tmp_path / "giga2")


def test_the_text_lessons_small_entries_build_their_layouts(data, tmp_path, monkeypatch):
    """get_data(..., mode='small') finds the sources in the named folder and builds the lessons' layouts."""
    root = tmp_path / "shared"
    (root / "imdb_sample").mkdir(parents=True)
    (root / "imdb_sample" / "texts.csv").write_text(TEXTS)
    (root / "eng_fra").mkdir()
    (root / "eng_fra" / "fra.txt").write_text("Why not?\tPourquoi pas ?\n")
    monkeypatch.setenv(small.ENV, str(root))
    imdb = datasets.get_data("imdb", mode="small")
    assert len(reading.read_imdb_folder(imdb, "train")[0]) == 2
    giga = datasets.get_data("giga_fren", mode="small")
    assert pairs.read_giga_fren(giga) == [("Why not?", "Pourquoi pas ?")]
    assert (small.NOTEBOOKS["lesson04_imdb"], small.NOTEBOOKS["lesson11_translation"]) == ("imdb", "giga_fren")
