"""An offline stand-in for the 2018 Nietzsche text: real English that ships with Python, in its layout.

``make_nietzsche_sample`` writes one UTF-8 file, ``nietzsche.txt``, as the real dataset has: the topics of
Python's reference manual (``pydoc_data.topics``, the text ``help()`` shows), joined by blank lines, up to
``MAX_CHARS`` characters. It is real prose (with some code), not generated characters, so a character model
learns spelling, words and punctuation from it as it does from Nietzsche. Seed 0 takes the topics in
alphabetical order; another seed shuffles them first.
"""

import random

MAX_CHARS = 160_000  # about a quarter of the real file's 600,893: the lesson runs in about a minute on a CPU


def make_nietzsche_sample(dest, seed=0):
    """Write ``dest/nietzsche.txt``: Python's reference-manual topics, whole ones, up to ``MAX_CHARS`` chars."""
    from pydoc_data.topics import topics

    names = sorted(topics)
    if seed:
        random.Random(seed).shuffle(names)
    parts, total = [], 0
    for name in names:
        text = topics[name].strip()
        if parts and total + len(text) + 2 > MAX_CHARS:
            continue  # whole topics only: a cut mid-sentence would be the one place the text is not real
        parts.append(text)
        total += len(text) + 2
    (dest / "nietzsche.txt").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
