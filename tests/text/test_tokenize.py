"""The tokenizer's rules on hand-written strings, batching, and the disk cache."""

import json

import pytest

from coursekit.text import tokenize
from coursekit.text.tokenize import BOS, MAJ, REP, SPECIALS, UP, WREP, Tokenizer


@pytest.fixture(scope="module")
def tok():
    return Tokenizer()


def test_specials_have_the_fixed_order_that_makes_unk_0_and_pad_1():
    assert SPECIALS[:2] == ["xxunk", "xxpad"]
    assert SPECIALS == ["xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxmaj", "xxup", "xxrep", "xxwrep"]


def test_fix_html_turns_br_into_newlines_decodes_entities_and_drops_tags():
    assert tokenize.fix_html("Good.<br /><br />Bad") == "Good.\n\nBad"
    assert tokenize.fix_html("Tom &amp; Jerry&#39;s <i>Big</i> day<BR>") == "Tom & Jerry's  Big  day\n"


def test_html_in_a_review_becomes_line_breaks_and_words(tok):
    assert tok("Fine.<br /><br />Me &amp; <i>you</i>") == [BOS, MAJ, "fine", ".", "\n", MAJ, "me", "&", "you"]


@pytest.mark.parametrize("mark", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_zero_width_characters_and_byte_order_marks_are_not_part_of_a_word(tok, mark):
    # invisible, yet before they made "gre<mark>at" one unknown word, and a file's BOM stuck to its first word
    assert tok(f"gre{mark}at film") == [BOS, "great", "film"]
    assert tok(f"{mark}The end{mark}") == [BOS, MAJ, "the", "end"]
    assert tok("gre&#8203;at") == [BOS, "great"]  # the HTML entity of a zero-width space, too


def test_repeated_characters_become_xxrep_with_the_count():
    assert tokenize.replace_rep("cooool").split() == ["c", REP, "4", "o", "l"]
    assert tokenize.replace_rep("good !!!") == "good !!!"  # 3 in a row stay as they are


def test_repeated_characters_in_a_text(tok):
    assert tok("sooooo good!!!!") == [BOS, "s", REP, "5", "o", "good", REP, "4", "!"]


def test_repeated_words_become_xxwrep_with_the_count(tok):
    assert tokenize.replace_wrep(["very", "very", "very", "good"]) == [WREP, "3", "very", "good"]
    assert tokenize.replace_wrep(["very", "very", "good"]) == ["very", "very", "good"]  # twice is kept
    assert tok("It was very very very very good") == [BOS, MAJ, "it", "was", WREP, "4", "very", "good"]


def test_capitals_become_lower_case_words_after_xxup_or_xxmaj(tok):
    assert tokenize.replace_caps(["GREAT", "Great", "great", "I", "McQueen"]) == [
        UP,
        "great",
        MAJ,
        "great",
        "great",
        MAJ,
        "i",
        MAJ,
        "mcqueen",
    ]
    assert tok("The acting was GREAT") == [BOS, MAJ, "the", "acting", "was", UP, "great"]


def test_slashes_and_hashes_are_split_off(tok):
    assert tok("good/bad #1") == [BOS, "good", "/", "bad", "#", "1"]


def test_spacy_splits_punctuation_and_contractions(tok):
    assert tok("I don't know, (maybe) $5.") == [
        BOS,
        MAJ,
        "i",
        "do",
        "n't",
        "know",
        ",",
        "(",
        "maybe",
        ")",
        "$",
        "5",
        ".",
    ]


def test_every_text_starts_with_xxbos_and_spaces_are_not_tokens(tok):
    out = tok.tokenize(["a  b", "", "  c \n d"])
    assert out == [[BOS, "a", "b"], [BOS], [BOS, "c", "\n", "d"]]


def test_batched_tokenizing_gives_the_same_tokens_as_one_text_at_a_time(tok):
    texts = [f"Review {i}: it was GREAT, not baaaad!<br />" for i in range(40)]
    small = Tokenizer(batch_size=3)
    assert small.tokenize(texts) == [tok(t) for t in texts]


def test_a_text_that_is_not_a_string_is_an_error_naming_it(tok):
    with pytest.raises(TypeError, match="Text 1 is a int"):
        tok.tokenize(["fine", 3])


def test_the_cache_is_written_then_read_and_a_change_of_texts_replaces_it(tok, tmp_path, monkeypatch):
    texts = ["One text.", "Another TEXT!"]
    first = tok.tokenize(texts, cache_dir=tmp_path, name="corpus")
    files = list(tmp_path.glob("corpus-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["tokens"] == first
    calls = []
    monkeypatch.setattr(tok, "_tokenize", lambda texts: calls.append(texts) or [["read", "again"]] * len(texts))
    assert tok.tokenize(texts, cache_dir=tmp_path, name="corpus") == first  # read, not tokenized again
    assert calls == []
    tok.tokenize(texts + ["A third."], cache_dir=tmp_path, name="corpus")  # other texts: tokenized, replaced
    assert len(calls) == 1
    assert [f.name for f in tmp_path.glob("corpus-*.json")] != [files[0].name]
    assert len(list(tmp_path.glob("corpus-*"))) == 1  # the old file and no temporary file left


def test_a_new_rules_version_invalidates_the_cache(tok, tmp_path, monkeypatch):
    key = tokenize.corpus_key(["same text"])
    monkeypatch.setattr(tokenize, "RULES_VERSION", tokenize.RULES_VERSION + 1)
    assert tokenize.corpus_key(["same text"]) != key
    assert tokenize.corpus_key(["ab", "c"]) != tokenize.corpus_key(["a", "bc"])


def test_a_damaged_cache_file_is_tokenized_again(tok, tmp_path):
    texts = ["Some text."]
    tok.tokenize(texts, cache_dir=tmp_path, name="c")
    file = next(tmp_path.glob("c-*.json"))
    file.write_text("{not json")
    assert tok.tokenize(texts, cache_dir=tmp_path, name="c") == [[BOS, MAJ, "some", "text", "."]]
    assert json.loads(file.read_text())["tokens"] == [[BOS, MAJ, "some", "text", "."]]


def test_the_repr_names_the_rules(tok):
    assert "replace_rep" in repr(tok) and "spacy.blank('en')" in repr(tok)


def test_the_fused_token_pass_equals_the_rules_applied_one_after_the_other(tok):
    import random

    from coursekit.samples.text import review

    rng = random.Random(1)
    texts = [review(rng, rng.choice((1, -1)))[0] for _ in range(50)]
    texts += ["Very very VERY good. No no no no!", "THE THE the end\n\n\nok", "  I   said   so  "]
    for text in texts:
        doc = tok.nlp.tokenizer(tok.pre(text))
        words = ["\n" if "\n" in t.text else t.text for t in doc if not t.text.isspace() or "\n" in t.text]
        assert tok.post(doc) == [BOS] + tokenize.replace_caps(tokenize.replace_wrep(words))
