"""An offline look-alike of the IMDB movie reviews (aclImdb), in its layout, standard library only.

``make_imdb_sample`` writes ``train/{pos,neg,unsup}`` and ``test/{pos,neg}``, one ``<id>_<rating>.txt`` per
review (ratings 7-10 positive, 1-4 negative, 0 unlabelled, as in the real files), paragraphs joined by
``<br /><br />``. A review's sentiment is carried by composition and word order, not by single words: each
opinion is a clause whose polarity is its adjective's or verb's, flipped by a negation ("not good",
"never boring"); "..., but ..." lets the clause after "but" decide; intensifiers ("very", "sooooo") double
an opinion's weight; a verdict at the end ("I would not recommend it") weighs most. The label is the sign of
the weighted sum. The words are drawn so that negations, positive and negative words appear about as often
in both classes: a bag of words gets only part of the way, word order the rest. Surface variety for the
tokenizer: Capitalised names and titles, ALL-CAPS words, repeated letters and words, numbers, punctuation
and HTML tags.
"""

import random
from itertools import accumulate
from pathlib import Path

# Word tables, packed by hand (one item per line would make them a page long).
# fmt: off
ASPECTS = ["acting", "plot", "script", "music", "soundtrack", "direction", "ending", "dialogue", "camera work",
           "pacing", "story", "cast", "humour", "special effects", "editing", "score", "lead performance"]
# Adjectives, most common first: drawn with Zipf-like weights, so a few are everywhere and many are rare, as in
# real reviews. A classifier trained on the labelled reviews alone sees the rare ones a few times; a language
# model trained on all the reviews learns from their contexts that they behave like the common ones.
GOOD = ["good", "great", "brilliant", "wonderful", "excellent", "funny", "beautiful", "moving", "clever", "superb",
        "gripping", "charming", "powerful", "fresh", "delightful", "stunning", "touching", "witty", "engaging",
        "solid", "fantastic", "terrific", "marvellous", "lovely", "memorable", "thrilling", "inventive", "elegant",
        "haunting", "hilarious", "heartfelt", "sharp", "vivid", "masterful", "compelling", "riveting",
        "outstanding", "splendid", "exquisite", "uplifting"]
BAD = ["bad", "awful", "boring", "terrible", "dull", "weak", "silly", "predictable", "stupid", "lame", "tedious",
       "horrible", "flat", "forgettable", "dreadful", "bland", "messy", "pointless", "shallow", "stiff", "wooden",
       "lifeless", "cheap", "annoying", "painful", "sloppy", "overlong", "confusing", "hollow", "stale",
       "pretentious", "laughable", "mediocre", "tiresome", "uninspired", "atrocious", "abysmal", "derivative",
       "clumsy", "ridiculous"]
ZIPF = list(accumulate(1 / (rank + 2) for rank in range(len(GOOD))))  # cumulative weights, for rng.choices
LIKE = [("loved", "love"), ("enjoyed", "enjoy"), ("liked", "like"), ("admired", "admire"), ("adored", "adore")]
HATE = [("hated", "hate"), ("disliked", "dislike"), ("regretted", "regret"), ("resented", "resent"),
        ("loathed", "loathe")]
VERDICT_GOOD = ["recommend it", "watch it again", "buy it on DVD", "call it a classic", "see it twice"]
VERDICT_BAD = ["skip it", "avoid it", "walk out", "ask for my money back", "fall asleep"]
INTENSIFIERS = ["very", "really", "truly", "extremely", "incredibly", "so", "quite", "absolutely"]
NEGATIONS = ["not", "never", "not at all"]  # "not at all" goes after the adjective in some templates
FIRST = ["Tom", "Meg", "Kevin", "Julia", "Dev", "Ingrid", "Marco", "Keanu", "Sofia", "Omar", "Greta", "Hugo",
         "Priya", "Lars", "Nadia", "Sam"]
LAST = ["Hanks", "Ryan", "Kessler", "Moreau", "Okafor", "Lindqvist", "Tanaka", "Romero", "Brennan", "Kowalski",
        "Silva", "Fischer", "Novak", "Reyes"]
TITLE_A = ["Silent", "Last", "Red", "Lost", "Hidden", "Broken", "Golden", "Midnight", "Wild", "Frozen", "Secret"]
TITLE_B = ["River", "Kingdom", "Summer", "Detective", "Garden", "Empire", "Station", "Horizon", "Machine", "Storm"]
ROLES = ["the detective", "the villain", "the mother", "the young soldier", "the lawyer", "the old king"]
WHO = ["my wife", "my brother", "a friend", "my parents", "the kids", "my roommate", "nobody"]
WHERE = ["at the cinema", "on TV", "on a plane", "on DVD", "at a festival", "on late-night cable"]
# fmt: on


def opinion(rng, polarity, what):
    """One opinion clause about ``what`` with the given polarity, and whether it was intensified.

    Half the time the words say the opposite and a negation flips them, so "good" and "not" are as common
    in praise as in complaints."""
    negate = rng.random() < 0.4
    word_pol = -polarity if negate else polarity
    adj = rng.choices(GOOD if word_pol > 0 else BAD, cum_weights=ZIPF)[0]
    strong = not negate and rng.random() < 0.3
    if strong:
        inten = rng.choice(INTENSIFIERS)
        r = rng.random()
        if r < 0.12:  # repeated letters: "sooooo"
            inten = inten[:-1] + inten[-1] * rng.randint(4, 7)
        elif r < 0.24:  # a repeated word: "very very very"
            inten = " ".join([inten] * rng.randint(3, 4))
        adj = f"{inten} {adj}"
    if rng.random() < 0.07:
        adj = adj.upper()
    kind = rng.random()
    neg = rng.choice(NEGATIONS)
    aspect = what.startswith("the ") and what[4:] in ASPECTS
    if kind < 0.5 or (kind >= 0.75 and not aspect):
        be = "were" if what.endswith("effects") else "was"
        if negate and neg == "not at all":
            return f"{what} {be} not {adj} at all", strong
        return f"{what} {be} {neg + ' ' if negate else ''}{adj}", strong
    if kind < 0.75:
        past, base = rng.choice(LIKE if word_pol > 0 else HATE)
        adverb = "really " if strong else ""
        if negate:
            return (f"I never {past} {what}" if neg == "never" else f"I did not {base} {what}"), strong
        return f"I {adverb}{past} {what}", strong
    noun = "film" if rng.random() < 0.5 else "movie"
    be = "are" if what.endswith("effects") else "is"
    if negate:
        return f"{what} in this {noun} {be} {'never' if neg == 'never' else 'not'} {adj}", strong
    return f"{what} in this {noun} {be} {adj}", strong


def sentence_end(rng):
    r = rng.random()
    return "." if r < 0.75 else "!" if r < 0.88 else "!!!" if r < 0.94 else "..."


def names(rng):
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def title(rng):
    return f"{'The ' if rng.random() < 0.4 else ''}{rng.choice(TITLE_A)} {rng.choice(TITLE_B)}"


def neutral(rng, film, kind):
    """A sentence that says nothing about quality (names, numbers, where and with whom): one of 6 kinds."""
    if kind == 0:
        return f"I saw {film} {rng.choice(WHERE)} with {rng.choice(WHO)}."
    if kind == 1:
        return f"{names(rng)} plays {rng.choice(ROLES)} and {names(rng)} plays {rng.choice(ROLES)}."
    if kind == 2:
        hours = rng.randint(1, 2)
        return f"It runs {hours} hour{'s' if hours > 1 else ''} and {rng.randint(2, 59)} minutes."
    if kind == 3:
        return f"It was directed by {names(rng)}, who also made <i>{title(rng)}</i> in {rng.randint(1960, 2010)}."
    if kind == 4:
        return f"The tickets cost ${rng.randint(4, 15)} and the theatre was {rng.choice(['full', 'empty'])}."
    return f"This is the {rng.choice(['first', 'second', 'third'])} film by {names(rng)} I have seen."


def clause_subject(rng):
    r = rng.random()
    if r < 0.7:
        return f"the {rng.choice(ASPECTS)}"
    if r < 0.85:
        return f"{names(rng)} as {rng.choice(ROLES)}"
    return "the whole thing"


def verdict(rng, polarity):
    """The closing sentence, weight 3: "Overall, I would (not) recommend it." or "All in all, not a dull film."."""
    negate = rng.random() < 0.4
    word_pol = -polarity if negate else polarity
    lead = rng.choice(["Overall,", "In the end,", "All in all,", "Bottom line:", "To sum up,"])
    if rng.random() < 0.6:
        adj = rng.choices(GOOD if word_pol > 0 else BAD, cum_weights=ZIPF)[0]
        noun = rng.choice(["film", "movie", "picture", "watch", "experience"])
        article = "an" if adj[0] in "aeiou" else "a"
        return f"{lead} {'not ' + article if negate else article} {adj} {noun}{sentence_end(rng)}"
    phrase = rng.choice(VERDICT_GOOD if word_pol > 0 else VERDICT_BAD)
    return f"{lead} I would {'not ' if negate else ''}{phrase}{sentence_end(rng)}"


def review(rng, label):
    """(text, parts) of one review whose weighted opinions sum to the sign of ``label`` (+1 or -1).

    ``parts`` lists (polarity, weight) of every opinion, for checks: the label is the sign of the sum."""
    film = f"{title(rng)} ({rng.randint(1950, 2011)})"
    while True:
        kinds = rng.sample(range(6), 3)  # the neutral sentences of one review are all different
        parts, sentences = [], [neutral(rng, film, kinds.pop())]
        for _ in range(rng.randint(2, 4)):
            pol = label if rng.random() < 0.7 else -label
            if rng.random() < 0.3:  # contrast: the clause after "but" decides
                first, _ = opinion(rng, -pol, clause_subject(rng))
                second, _ = opinion(rng, pol, clause_subject(rng))
                text, weight = f"{first[0].upper()}{first[1:]}, but {second}{sentence_end(rng)}", 2
            else:
                text, strong = opinion(rng, pol, clause_subject(rng))
                text, weight = f"{text[0].upper()}{text[1:]}{sentence_end(rng)}", 2 if strong else 1
            parts.append((pol, weight))
            sentences.append(text)
            if kinds and rng.random() < 0.3:
                sentences.append(neutral(rng, film, kinds.pop()))
        if rng.random() < 0.85:
            parts.append((label, 3))
            sentences.append(verdict(rng, label))
        total = sum(p * w for p, w in parts)
        if total * label > 0:
            break
    cut = sorted(rng.sample(range(1, len(sentences)), min(2, len(sentences) - 1)))
    paragraphs = [" ".join(sentences[a:b]) for a, b in zip([0] + cut, cut + [len(sentences)])]
    return "<br /><br />".join(p for p in paragraphs if p), parts


def rating(rng, label, parts):
    """A 1-10 rating like the real file names': 7-10 for positive, 1-4 for negative, stronger for clearer."""
    strength = min(3, abs(sum(p * w for p, w in parts)) // 3 + rng.randint(0, 1))
    return 7 + strength if label > 0 else 4 - strength


def make_imdb_sample(dest, seed=0, n_train=1000, n_test=800, n_unsup=4000):
    """Write generated reviews in the aclImdb layout (see the module docstring); half of each labelled split
    positive. Returns the number of files written."""
    dest = Path(dest)
    rng = random.Random(seed)
    count = 0
    for split, n, labels in (("train", n_train, (1, -1)), ("test", n_test, (1, -1)), ("train", n_unsup, (0,))):
        for label in labels:
            folder = dest / split / {1: "pos", -1: "neg", 0: "unsup"}[label]
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n // len(labels)):
                polarity = label or rng.choice((1, -1))
                text, parts = review(rng, polarity)
                score = rating(rng, polarity, parts) if label else 0
                (folder / f"{i}_{score}.txt").write_text(text, encoding="utf-8")
                count += 1
    (dest / "README").write_text(
        "Generated by coursekit.samples.text.make_imdb_sample: an offline look-alike of "
        "the Large Movie Review Dataset v1.0 (aclImdb) layout. Not real reviews.\n"
    )
    return count
