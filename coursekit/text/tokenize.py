"""Tokenizing: spaCy's rule-based English tokenizer plus the course's rules, batched and cached on disk.

The rules, in order: ``fix_html`` (``<br />`` -> newline, entities decoded, other tags dropped),
``remove_invisible`` (zero-width characters and byte-order marks dropped: "gre\\u200bat" is "great"), spaces
around ``/`` and ``#``, ``replace_rep`` ("cooool" -> "c xxrep 4 o l") on the raw text; then spaCy splits the
text into tokens, and on the tokens ``replace_wrep`` ("very very very" -> "xxwrep 3 very") and
``replace_caps`` ("GREAT" -> "xxup great", "Great" -> "xxmaj great"), so the vocabulary holds lower-case
words and the capitals survive as markers. Every text starts with ``xxbos``.
"""

import hashlib
import html
import json
import os
import re
from pathlib import Path

UNK, PAD, BOS, EOS, FLD = "xxunk", "xxpad", "xxbos", "xxeos", "xxfld"
MAJ, UP, REP, WREP = "xxmaj", "xxup", "xxrep", "xxwrep"
SPECIALS = [UNK, PAD, BOS, EOS, FLD, MAJ, UP, REP, WREP]  # fixed order: UNK is id 0, PAD id 1, always
RULES_VERSION = 2  # bump when a rule changes: it is part of every cache key

BR_RE = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
TAG_RE = re.compile(r"</?[a-zA-Z][^<>]{0,40}>")  # <i>, </b>, <a href=...>: markup, not words
SLASH_HASH_RE = re.compile(r"([/#])")
CHAR_REP_RE = re.compile(r"(\S)(\1{3,})")  # one character and 3+ more of it: 4 or more in a row
SPACES_RE = re.compile(r" {2,}")
WREP_MIN = 3  # a word repeated this many times or more becomes xxwrep n word


# Zero-width space, non-joiner, joiner, word joiner, and the byte-order mark (a zero-width no-break space when
# not at the start of a file): invisible, yet they cut a word in two for the vocabulary ("gre\u200bat" is not
# "great"). Text copied from web pages has them; a file saved "UTF-8 with BOM" starts with U+FEFF. The
# (non-)joiners shape some scripts (Persian, Devanagari, emoji sequences): the course reads English and French.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def remove_invisible(text):
    """Zero-width characters (U+200B, U+200C, U+200D, U+2060) and byte-order marks (U+FEFF) removed."""
    return text.translate(INVISIBLE) if not text.isascii() else text


def fix_html(text):
    """``<br />`` -> newline, HTML entities (``&amp;``, ``&#39;``) decoded, other tags removed."""
    if "<" in text:  # the checks skip a regex pass over the many texts without markup
        text = TAG_RE.sub(" ", BR_RE.sub("\n", text))
    if "&" in text:
        text = html.unescape(text)  # &amp; &#39; &quot; ...
    return text.replace("#39;", "'").replace("\\n", "\n")  # as IMDB has them: "#39;" without its "&"


def spaces_around(text):
    """Spaces around ``/`` and ``#``, so "good/bad" is three tokens."""
    return SLASH_HASH_RE.sub(r" \1 ", text) if "/" in text or "#" in text else text


def replace_rep(text):
    """A character repeated 4+ times -> ``xxrep n c``: "cooool" -> "c xxrep 4 o l"."""
    return CHAR_REP_RE.sub(lambda m: f" {REP} {len(m.group(0))} {m.group(1)} ", text)


def replace_wrep(tokens):
    """A token repeated 3+ times in a row -> ``xxwrep n token``: very very very -> xxwrep 3 very."""
    out, i = [], 0
    while i < len(tokens):
        j = i + 1
        while j < len(tokens) and tokens[j].lower() == tokens[i].lower():
            j += 1
        if j - i >= WREP_MIN and not tokens[i].isspace():
            out += [WREP, str(j - i), tokens[i]]
        else:
            out += tokens[i:j]
        i = j
    return out


def replace_caps(tokens):
    """Lower-case every token, after ``xxup`` (all capitals, 2+ letters) or ``xxmaj`` (capital first)."""
    out = []
    for t in tokens:
        if len(t) > 1 and t.isupper():
            out += [UP, t.lower()]
        elif t[:1].isupper():
            out += [MAJ, t.lower()]
        else:
            out.append(t.lower())
    return out


PRE_RULES = [fix_html, remove_invisible, spaces_around, replace_rep]  # fix_html may decode &#8203;
POST_RULES = [replace_wrep, replace_caps]


def corpus_key(texts, extra=""):
    """A hash of the rules' version, spaCy's version and every text: what names a cache file."""
    import spacy

    h = hashlib.sha256(f"rules={RULES_VERSION} spacy={spacy.__version__} {extra} n={len(texts)}".encode())
    for t in texts:
        b = t.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))  # the length keeps ["ab", "c"] apart from ["a", "bc"]
        h.update(b)
    return h.hexdigest()


class Tokenizer:
    """spaCy's English tokenizer (``spacy.blank("en")``: no model download) with the course's rules.

    ``tok(text)`` -> list of tokens; ``tok.tokenize(texts, cache_dir=..., name=...)`` -> one list per text,
    batched through spaCy and read from a disk cache when the same texts were tokenized before.
    """

    def __init__(self, lang="en", batch_size=256, progress_min=2000):
        import spacy
        from spacy.attrs import ORTH

        self.orth = ORTH
        self.lang, self.batch_size, self.progress_min = lang, batch_size, progress_min
        self.nlp = spacy.blank(lang)
        self.cache = {}  # spaCy's string hash -> (key, tokens): see post
        for s in SPECIALS:  # keep the markers whole (spaCy would leave them alone, but say so)
            self.nlp.tokenizer.add_special_case(s, [{"ORTH": s}])

    def __call__(self, text):
        """The tokens of one text."""
        return self.tokenize([text])[0]

    def pre(self, text):
        """The rules applied to the raw text before spaCy."""
        for rule in PRE_RULES:
            text = rule(text)
        return SPACES_RE.sub(" ", text)

    def post(self, doc):
        """spaCy's tokens, spaces dropped and line breaks kept as one ``\\n``, then ``replace_wrep`` and
        ``replace_caps``, ``xxbos`` first.

        The two token rules are fused into one pass over cached per-string results: the same output as
        ``replace_caps(replace_wrep(tokens))`` (a test checks it), at a fraction of the time."""
        cache, out = self.cache, [BOS]
        prev, run, start, first = None, 0, 0, ()
        for h in doc.to_array(self.orth).tolist():  # hashes: cheaper than making a Token object per token
            entry = cache.get(h)
            if entry is None:
                entry = cache[h] = self.entry(self.nlp.vocab.strings[h])
            key, toks = entry
            if key is not None and key == prev:  # the same word again (case aside)
                run += 1
                if run == WREP_MIN:
                    del out[start:]
                    out += [WREP, str(run), *first]
                elif run > WREP_MIN:
                    out[start + 1] = str(run)
                else:
                    out += toks
            elif toks:
                prev, run, start, first = key, 1, len(out), toks
                out += toks
        return out

    @staticmethod
    def entry(s):
        """(lower-case key for repeats, tokens after replace_caps) for one spaCy token's text."""
        if s.isspace():  # spaCy keeps whitespace runs as tokens: keep line breaks, drop spaces
            return None, ("\n",) if "\n" in s else ()
        return s.lower(), tuple(replace_caps([s]))

    def tokenize(self, texts, cache_dir=None, name="texts"):
        """Token lists for ``texts``; with ``cache_dir``, read from / written to ``<cache_dir>/<name>-<key>.json``.

        The key hashes the rules' version, spaCy's version and the texts, so changing either makes a new
        tokenization (and the old file of that ``name`` is removed); the file is written atomically.
        """
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"Text {i} is a {type(t).__name__}, not a str: tokenize takes a list of strings.")
        if cache_dir is None:
            return self._tokenize(texts)
        cache_dir = Path(cache_dir)
        file = cache_dir / f"{name}-{corpus_key(texts, self.lang)[:20]}.json"
        if file.exists():
            try:
                return json.loads(file.read_text(encoding="utf-8"))["tokens"]
            except (ValueError, KeyError):  # a damaged file: tokenize again and replace it
                pass
        tokens = self._tokenize(texts)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f"{file.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps({"rules": RULES_VERSION, "n_texts": len(texts), "tokens": tokens}), encoding="utf-8")
        os.replace(tmp, file)  # a reader sees the old file or the whole new one, never half of it
        for old in cache_dir.glob(f"{name}-*.json"):
            if old != file and re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{20}}\.json", old.name):
                old.unlink(missing_ok=True)
        return tokens

    def _tokenize(self, texts):
        docs = self.nlp.tokenizer.pipe((self.pre(t) for t in texts), batch_size=self.batch_size)
        if len(texts) >= self.progress_min:
            from coursekit.progress import progress_bar

            docs = progress_bar(docs, len(texts), "tokenizing")
        return [self.post(doc) for doc in docs]

    def __repr__(self):
        rules = ", ".join(r.__name__ for r in PRE_RULES + POST_RULES)
        return f"Tokenizer(spacy.blank({self.lang!r}); rules: {rules}; rules version {RULES_VERSION})"
