"""Reading the aclImdb layout, a texts CSV and Python's own English text; clear errors for bad input."""

import pytest

from coursekit.text.reading import python_corpus, read_imdb_folder, read_texts_csv


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode("utf-8") if isinstance(text, str) else text)


@pytest.fixture
def imdb(tmp_path):
    root = tmp_path / "aclImdb"
    write(root / "train" / "pos", "10_9.txt", "Great film.<br />Loved it.")
    write(root / "train" / "pos", "2_8.txt", "Good film.")
    write(root / "train" / "neg", "0_1.txt", "Awful film.")
    write(root / "train" / "unsup", "0_0.txt", "Some film.")
    write(root / "test" / "pos", "0_7.txt", "Fine.")
    write(root / "test" / "neg", "0_2.txt", "Dull.")
    return root


def test_reads_each_class_folder_with_its_label_in_numeric_file_order(imdb):
    texts, labels, files = read_imdb_folder(imdb, "train")
    assert labels == ["neg", "pos", "pos"]
    assert [f.name for f in files] == ["0_1.txt", "2_8.txt", "10_9.txt"]  # 2 before 10
    assert texts[2] == "Great film.<br />Loved it."  # raw: the tokenizer cleans the HTML


def test_unsup_adds_the_unlabelled_reviews(imdb):
    texts, labels, _ = read_imdb_folder(imdb, "train", unsup=True)
    assert labels[-1] == "unsup" and texts[-1] == "Some film." and len(texts) == 4


def test_a_file_that_is_not_utf8_is_an_error_naming_it_and_the_byte(imdb):
    write(imdb / "test" / "neg", "1_3.txt", "Caf\xe9 scene".encode("latin-1"))
    with pytest.raises(ValueError, match=r"1_3\.txt is not UTF-8 text: byte 0xe9 at position 3.*must be UTF-8"):
        read_imdb_folder(imdb, "test")


def test_a_byte_order_mark_is_not_part_of_the_review(imdb):
    write(imdb / "test" / "pos", "1_9.txt", "\ufeffThe best.".encode("utf-8"))  # "UTF-8 with BOM"
    texts, _, files = read_imdb_folder(imdb, "test")
    assert texts[[f.name for f in files].index("1_9.txt")] == "The best."


def test_an_empty_review_is_skipped_with_a_warning_naming_it(imdb):
    write(imdb / "test" / "pos", "5_10.txt", "  \n")
    with pytest.warns(UserWarning, match=r"Skipped 1 empty review file\(s\) in .*pos: 5_10\.txt"):
        texts, labels, files = read_imdb_folder(imdb, "test")
    assert len(texts) == 2 and all(f.name != "5_10.txt" for f in files)


def test_a_missing_class_folder_is_an_error_naming_it_and_what_is_there(imdb):
    (imdb / "test" / "neg" / "0_2.txt").unlink()
    (imdb / "test" / "neg").rmdir()
    (imdb / "test" / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"class folder .*test.neg is missing: .*test holds notes\.txt, pos/"):
        read_imdb_folder(imdb, "test")


def test_a_class_folder_with_no_reviews_is_an_error(imdb):
    (imdb / "test" / "neg" / "0_2.txt").unlink()
    with pytest.raises(ValueError, match=r"class folder .*neg holds no reviews"):
        read_imdb_folder(imdb, "test")


def test_a_missing_split_folder_lists_the_folders_there(imdb):
    with pytest.raises(FileNotFoundError, match=r"has no 'valid' folder \(it has: test, train\)"):
        read_imdb_folder(imdb, "valid")
    with pytest.raises(FileNotFoundError, match="IMDB data folder"):
        read_imdb_folder(imdb / "nowhere", "train")


def test_read_texts_csv_gives_texts_labels_and_the_split(tmp_path):
    path = tmp_path / "texts.csv"
    path.write_text('label,text,is_valid\nnegative,"Bad, truly.",False\npositive,Good,True\n')
    assert read_texts_csv(path) == (["Bad, truly.", "Good"], ["negative", "positive"], [False, True])


def test_read_texts_csv_names_a_missing_column_and_an_empty_text(tmp_path):
    path = tmp_path / "texts.csv"
    path.write_text("label,review\npositive,Good\n")
    with pytest.raises(KeyError, match="no columns 'text', 'is_valid'"):
        read_texts_csv(path)
    path.write_text('label,text,is_valid\npositive,Good,False\nnegative," ",True\n')
    with pytest.raises(ValueError, match="1 row.* with no text in column 'text', on line 3"):
        read_texts_csv(path)


def test_an_empty_label_is_an_error_naming_the_file_and_lines(tmp_path):
    # pandas would read the empty cells as NaN, and clas_dls fail much later sorting str and float labels
    path = tmp_path / "texts.csv"
    path.write_text("label,text,is_valid\npositive,Good,False\n,Bad,False\nnegative,Dull,True\n ,Fine,True\n")
    with pytest.raises(ValueError, match=r"texts\.csv has 2 row\(s\) with no label in column 'label', on lines 3, 5 "):
        read_texts_csv(path)


def test_cells_reading_na_stay_text(tmp_path):
    path = tmp_path / "texts.csv"
    path.write_text("label,text,is_valid\nNA,None,False\nnull,NaN,True\n")
    assert read_texts_csv(path) == (["None", "NaN"], ["NA", "null"], [False, True])


@pytest.mark.parametrize("true, false", [("True", "False"), ("true", "false"), ("1", "0"), ("TRUE", " no ")])
def test_is_valid_reads_the_usual_boolean_spellings(tmp_path, true, false):
    path = tmp_path / "texts.csv"
    path.write_text(f"label,text,is_valid\npositive,Good,{true}\nnegative,Bad,{false}\n")
    assert read_texts_csv(path)[2] == [True, False]


@pytest.mark.parametrize("value", ["valid", "", "2", "Flase"])
def test_any_other_is_valid_value_is_an_error_naming_the_line_and_value(tmp_path, value):
    # before: anything but true/1/yes silently meant training, so a typo moved the row to the training set
    path = tmp_path / "texts.csv"
    path.write_text(f"label,text,is_valid\npositive,Good,True\nnegative,Bad,{value}\n")
    with pytest.raises(ValueError, match=rf"texts\.csv line 3: is_valid is '{value}', which is neither True nor False"):
        read_texts_csv(path)


def test_python_corpus_is_real_english_from_the_standard_library():
    texts = python_corpus()
    topics = python_corpus(docstrings=False)
    assert len(texts) > len(topics) > 50 and texts[: len(topics)] == topics
    words = " ".join(texts).split()
    assert len(words) > 80_000 and words.count("the") > 2000
    assert python_corpus() == texts  # the same every time
