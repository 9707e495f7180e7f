"""Reading parallel sentences: the giga-fren files filtered to "Wh...?" questions (the 2018 lesson's data,
and the offline sample's layout), a tab-separated pairs file (Tatoeba's ``fra.txt``), and tokenizing both
languages with length filtering.

Bad input is an error naming the file and line: a pairs line with no tab or an empty side, a pairs file that
is not UTF-8 (or the ``encoding`` given), and giga-fren files that do not have the same number of lines (then
the pairs would be misaligned from that line on).
"""

import re
from pathlib import Path

from coursekit.core import check_path

EN_FILE, FR_FILE = "giga-fren.release2.fixed.en", "giga-fren.release2.fixed.fr"
# As in 2018: an English question starting with "Wh" and ending at its first "?", and a French question.
EN_QUESTION = re.compile(r"^(Wh[^?.!]+\?)")
FR_QUESTION = re.compile(r"^([^?.!]+\?)")


def read_giga_fren(folder, en_name=EN_FILE, fr_name=FR_FILE, max_pairs=None):
    """(English, French) question pairs from the aligned giga-fren files in ``folder``: line i of one is the
    translation of line i of the other; a pair is kept when the English line is a "Wh...?" question and the
    French line a question (both cut at their first "?"). ``max_pairs`` stops early."""
    en_path = check_path(Path(folder) / en_name, "English giga-fren file", kind="file")
    fr_path = check_path(Path(folder) / fr_name, "French giga-fren file", kind="file")
    pairs, n = [], 0
    with (
        open(en_path, encoding="utf-8-sig", errors="replace") as en_f,  # -sig: a leading BOM is not text
        open(fr_path, encoding="utf-8-sig", errors="replace") as fr_f,
    ):
        while True:
            en, fr = en_f.readline(), fr_f.readline()
            if not en or not fr:
                if en or fr:
                    longer, shorter = (en_path, fr_path) if en else (fr_path, en_path)
                    raise ValueError(
                        f"{shorter} ends after {n} lines but {longer} goes on: the two giga-fren files "
                        "must have the same number of lines, line i of one translating line i of the "
                        "other. Download and extract them again (datasets.get_data('giga_fren', "
                        "mode='full', force=True))."
                    )
                break
            n += 1
            m_en, m_fr = EN_QUESTION.match(en.strip()), FR_QUESTION.match(fr.strip())
            if m_en and m_fr:
                pairs.append((m_en.group(1), m_fr.group(1)))
                if max_pairs is not None and len(pairs) >= max_pairs:
                    break
    return pairs


def read_text(path, encoding="utf-8"):
    """The whole text of ``path`` (a UTF-8 byte-order mark dropped); a file that is not in ``encoding`` is a
    ``ValueError`` naming the file, the byte, its offset and line, and how to convert the file."""
    data = Path(path).read_bytes()
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    try:
        return data.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        name = Path(path).name
        raise ValueError(
            f"{path} is not {'UTF-8' if utf8 else encoding} text: byte {data[e.start]:#04x} at byte offset "
            f"{e.start} (line {line}) cannot be decoded ({e.reason}; Windows-1252 and Latin-1 files have such "
            f"bytes). Convert the file to UTF-8 (for example iconv -f latin1 -t utf-8 {name} > utf8-{name}), or "
            "pass the encoding it is in, such as encoding='latin-1'."
        ) from None


def read_tsv_pairs(path, max_pairs=None, encoding="utf-8"):
    """(source, target) pairs from a file of ``source<TAB>target`` lines (a third column, such as Tatoeba's
    attribution, is ignored). A line with no tab or an empty side is an error naming the line; a file that is
    not ``encoding`` text (UTF-8 unless given) is an error naming the byte and line (``read_text``)."""
    path = check_path(path, "tab-separated pairs file", kind="file")
    pairs = []
    lines = read_text(path, encoding).replace("\r\n", "\n").replace("\r", "\n").split("\n")  # as open() splits
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue  # blank lines (a trailing newline) carry no pair
        parts = line.split("\t")
        if len(parts) < 2:
            raise ValueError(
                f"{path}, line {i}: no tab in {line[:60]!r}. Each line must be 'source<TAB>target' (one pair per line)."
            )
        src, tgt = parts[0].strip(), parts[1].strip()
        if not src or not tgt:
            side = "source (before the tab)" if not src else "target (after the tab)"
            raise ValueError(f"{path}, line {i}: the {side} is empty in {line[:60]!r}; fix or delete the line.")
        pairs.append((src, tgt))
        if max_pairs is not None and len(pairs) >= max_pairs:
            break
    return pairs


def tokenize_pairs(pairs, src_tok, tgt_tok, max_len=30, cache_dir=None, name="pairs"):
    """Both sides tokenized (``xxbos`` dropped), keeping the pairs whose two sides have fewer than ``max_len``
    tokens (2018: 30): (source token lists, target token lists, indices of the kept pairs)."""
    src = src_tok.tokenize([s for s, _ in pairs], cache_dir, f"{name}_src")
    tgt = tgt_tok.tokenize([t for _, t in pairs], cache_dir, f"{name}_tgt")
    keep = [i for i, (s, t) in enumerate(zip(src, tgt)) if 1 < len(s) <= max_len and 1 < len(t) <= max_len]
    return [src[i][1:] for i in keep], [tgt[i][1:] for i in keep], keep


def n_words(sentence):
    """The number of words of a raw sentence (split on spaces): what 'length' means for BLEU per length."""
    return len(sentence.split())
