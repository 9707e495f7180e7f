"""Reading parallel sentences: giga-fren question filtering, tab-separated pairs, bad input, length filtering."""

import pytest

from coursekit.text import pairs

EN_LINES = [
    "What is the red car?",
    "The meeting is on Tuesday.",
    "Where does the cat sleep? It is late.",
    "How are you?",
    "Why do the dogs bark?",
]
FR_LINES = [
    "Quelle est la voiture rouge ?",
    "La réunion est mardi.",
    "Où le chat dort-il ? Il est tard.",
    "Comment allez-vous ?",
    "Affirmation sans question.",
]


def write_giga(folder, en, fr):
    (folder / pairs.EN_FILE).write_text("".join(s + "\n" for s in en), encoding="utf-8")
    (folder / pairs.FR_FILE).write_text("".join(s + "\n" for s in fr), encoding="utf-8")
    return folder


def test_giga_fren_keeps_wh_questions_with_a_french_question(tmp_path):
    got = pairs.read_giga_fren(write_giga(tmp_path, EN_LINES, FR_LINES))
    # statements, non-"Wh" questions and pairs whose French side is no question are dropped; cut at the first "?"
    assert got == [
        ("What is the red car?", "Quelle est la voiture rouge ?"),
        ("Where does the cat sleep?", "Où le chat dort-il ?"),
    ]
    assert pairs.read_giga_fren(tmp_path, max_pairs=1) == got[:1]


def test_a_byte_order_mark_does_not_hide_the_first_giga_fren_question(tmp_path):
    write_giga(tmp_path, ["\ufeff" + EN_LINES[0]], ["\ufeff" + FR_LINES[0]])  # "UTF-8 with BOM" files
    assert pairs.read_giga_fren(tmp_path) == [("What is the red car?", "Quelle est la voiture rouge ?")]


def test_misaligned_giga_fren_files_are_an_error_naming_them(tmp_path):
    write_giga(tmp_path, EN_LINES, FR_LINES[:3])
    with pytest.raises(ValueError, match=r"giga-fren\.release2\.fixed\.fr ends after 3 lines.*same number of lines"):
        pairs.read_giga_fren(tmp_path)


def test_missing_giga_fren_file_is_a_clear_error(tmp_path):
    (tmp_path / pairs.EN_FILE).write_text("What?\n")
    with pytest.raises(FileNotFoundError, match="French giga-fren file"):
        pairs.read_giga_fren(tmp_path)


def test_tsv_pairs_are_read_with_extra_columns_ignored(tmp_path):
    f = tmp_path / "fra.txt"
    f.write_text("Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org\nWho?\tQui ?\n\n", encoding="utf-8")
    assert pairs.read_tsv_pairs(f) == [("Go.", "Va !"), ("Who?", "Qui ?")]


@pytest.mark.parametrize(
    "line, why",
    [("No tab here", r"line 2: no tab"), ("\tVa !", r"line 2: the source"), ("Go.\t  ", r"line 2: the target")],
)
def test_bad_tsv_lines_are_errors_naming_file_and_line(tmp_path, line, why):
    f = tmp_path / "pairs.txt"
    f.write_text(f"Hi.\tSalut.\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"pairs\.txt, {why}"):
        pairs.read_tsv_pairs(f)


def test_a_latin1_pairs_file_is_an_error_naming_the_byte_and_line_and_encoding_reads_it(tmp_path):
    f = tmp_path / "fra.txt"
    f.write_bytes("Go.\tVa !\nHi.\tSalut.\nCoffee.\tCaf\xe9.\n".encode("latin-1"))  # byte 0xe9 at offset 31
    with pytest.raises(
        ValueError,
        match=r"fra\.txt is not UTF-8 text: byte 0xe9 at byte offset 31 \(line 3\) cannot be decoded .*"
        r"iconv -f latin1 -t utf-8 fra\.txt > utf8-fra\.txt\), or pass .* encoding='latin-1'",
    ):
        pairs.read_tsv_pairs(f)
    assert pairs.read_tsv_pairs(f, encoding="latin-1")[2] == ("Coffee.", "Caf\xe9.")


def test_a_byte_order_mark_and_windows_line_ends_are_not_part_of_the_pairs(tmp_path):
    f = tmp_path / "fra.txt"
    f.write_bytes("\ufeffGo.\tVa !\r\nWho?\tQui ?\r\n".encode("utf-8"))
    assert pairs.read_tsv_pairs(f) == [("Go.", "Va !"), ("Who?", "Qui ?")]


def test_tokenize_pairs_drops_long_pairs_and_the_bos_marker():
    class Split:  # a stand-in for Tokenizer (spaCy takes seconds to load): the same interface
        def tokenize(self, texts, cache_dir=None, name=None):
            return [["xxbos"] + t.split() for t in texts]

    src, tgt, kept = pairs.tokenize_pairs(
        [("a b", "c d e"), ("a " * 10, "b"), ("x", "y " * 10)], Split(), Split(), max_len=6
    )
    assert (src, tgt, kept) == ([["a", "b"]], [["c", "d", "e"]], [0])
