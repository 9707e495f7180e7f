"""An offline look-alike of the 2018 translation data: English "Wh...?" questions and their French, generated
from a small bilingual grammar and written as the giga-fren parallel files, standard library only.

``make_translation_sample`` writes ``giga-fren.release2.fixed.en`` and ``.fr`` (one sentence per line, the two
files aligned line by line), with some statements and non-"Wh" questions among the questions, so the
lesson's filter has something to drop, as in the real corpus. What makes translation hard here is what makes
it need attention: French puts most adjectives after the noun and makes them agree in gender and number
("the red cars" -> "les voitures rouges"), inverts the subject in questions ("where does the cat sleep?" ->
"où le chat dort-il ?"), contracts articles ("of the" -> "du", "de la", "de l'", "des"), and the two sides
have different lengths. Prepositional phrases, relative clauses and coordination make sentences of up to
about 25 words, whose many content words a decoder can only get right by looking back at the source.
"""

import random
from pathlib import Path

EN_FILE, FR_FILE = "giga-fren.release2.fixed.en", "giga-fren.release2.fixed.fr"

# (english singular, english plural, french singular, french plural, gender)
NOUNS = [
    (s, p, fs, fp, g)
    for s, p, fs, fp, g in (
        row.split()
        for row in """
cat cats chat chats m|dog dogs chien chiens m|house houses maison maisons f|car cars voiture voitures f
bird birds oiseau oiseaux m|tree trees arbre arbres m|child children enfant enfants m|man men homme hommes m
woman women femme femmes f|girl girls fille filles f|boy boys garçon garçons m|book books livre livres m
table tables table tables f|chair chairs chaise chaises f|door doors porte portes f|window windows fenêtre fenêtres f
city cities ville villes f|street streets rue rues f|river rivers rivière rivières f|boat boats bateau bateaux m
horse horses cheval chevaux m|garden gardens jardin jardins m|school schools école écoles f
teacher teachers professeur professeurs m
doctor doctors médecin médecins m|student students étudiant étudiants m|friend friends ami amis m
neighbour neighbours voisin voisins m
king kings roi rois m|queen queens reine reines f|letter letters lettre lettres f|flower flowers fleur fleurs f
apple apples pomme pommes f|cake cakes gâteau gâteaux m|bread breads pain pains m|cheese cheeses fromage fromages m
glass glasses verre verres m|bottle bottles bouteille bouteilles f|key keys clé clés f|bag bags sac sacs m
hat hats chapeau chapeaux m|shirt shirts chemise chemises f|dress dresses robe robes f
shoe shoes chaussure chaussures f
train trains train trains m|plane planes avion avions m|bicycle bicycles vélo vélos m|road roads route routes f
bridge bridges pont ponts m|church churches église églises f|island islands île îles f
mountain mountains montagne montagnes f
lake lakes lac lacs m|forest forests forêt forêts f|field fields champ champs m|farm farms ferme fermes f
cow cows vache vaches f|sheep sheep mouton moutons m|mouse mice souris souris f|fish fish poisson poissons m
picture pictures tableau tableaux m|song songs chanson chansons f|film films film films m
newspaper newspapers journal journaux m
computer computers ordinateur ordinateurs m|phone phones téléphone téléphones m|box boxes boîte boîtes f
lamp lamps lampe lampes f
bed beds lit lits m|kitchen kitchens cuisine cuisines f|room rooms chambre chambres f|shop shops magasin magasins m
market markets marché marchés m|station stations gare gares f|hotel hotels hôtel hôtels m
restaurant restaurants restaurant restaurants m
painter painters peintre peintres m|singer singers chanteur chanteurs m|soldier soldiers soldat soldats m
farmer farmers fermier fermiers m
sister sisters sœur sœurs f|brother brothers frère frères m|aunt aunts tante tantes f|uncle uncles oncle oncles m
""".replace("\n", "|").split("|")
        if row.strip()
    )
]
# (english, french masculine singular, feminine singular, masculine plural, feminine plural): all go after the noun
ADJECTIVES = [
    tuple(row.split())
    for row in """
red rouge rouge rouges rouges|black noir noire noirs noires|white blanc blanche blancs blanches
green vert verte verts vertes|blue bleu bleue bleus bleues|grey gris grise gris grises
happy heureux heureuse heureux heureuses|sad triste triste tristes tristes|rich riche riche riches riches
famous célèbre célèbre célèbres célèbres|modern moderne moderne modernes modernes
strange étrange étrange étranges étranges
quiet calme calme calmes calmes|dirty sale sale sales sales|clean propre propre propres propres
dangerous dangereux dangereuse dangereux dangereuses|serious sérieux sérieuse sérieux sérieuses
shy timide timide timides timides
empty vide vide vides vides|full plein pleine pleins pleines|cold froid froide froids froides
hot chaud chaude chauds chaudes
tired fatigué fatiguée fatigués fatiguées|French français française français françaises
English anglais anglaise anglais anglaises
clever intelligent intelligente intelligents intelligentes|slow lent lente lents lentes
fast rapide rapide rapides rapides
round rond ronde ronds rondes|broken cassé cassée cassés cassées|open ouvert ouverte ouverts ouvertes
heavy lourd lourde lourds lourdes|sick malade malade malades malades|funny drôle drôle drôles drôles
""".replace("\n", "|").split("|")
    if row.strip()
]
# (english base, english 3rd singular, french 3rd singular, french 3rd plural): transitive, present tense
VERBS = [
    tuple(row.split())
    for row in """
eat eats mange mangent|like likes aime aiment|watch watches regarde regardent|find finds trouve trouvent
carry carries porte portent|buy buys achète achètent|wash washes lave lavent|draw draws dessine dessinent
visit visits visite visitent|clean cleans nettoie nettoient|sell sells vend vendent|hide hides cache cachent
push pushes pousse poussent|pull pulls tire tirent|paint paints peint peignent|follow follows suit suivent
want wants veut veulent|open opens ouvre ouvrent|close closes ferme ferment|take takes prend prennent
love loves adore adorent|help helps aide aident|call calls appelle appellent|forget forgets oublie oublient
""".replace("\n", "|").split("|")
    if row.strip()
]
# (english, french, how French joins it to the article: "de" contracts, "à" contracts, "none" keeps it)
PREPOSITIONS = [
    ("in", "dans", "none"),
    ("near", "près de", "de"),
    ("with", "avec", "none"),
    ("of", "de", "de"),
    ("behind", "derrière", "none"),
    ("under", "sous", "none"),
    ("on", "sur", "none"),
    ("next to", "à côté de", "de"),
    ("for", "pour", "none"),
    ("at", "à", "à"),
]
VOWELS = "aeiouhéèêîô"
FILLERS = [
    "The meeting is on Tuesday.",
    "Please close the door.",
    "How are you?",
    "I like the red car.",
    "Is the shop open?",
    "The results are in the table below.",
]
FILLERS_FR = [
    "La réunion est mardi.",
    "Fermez la porte, s'il vous plaît.",
    "Comment allez-vous ?",
    "J'aime la voiture rouge.",
    "Le magasin est-il ouvert ?",
    "Les résultats sont dans le tableau ci-dessous.",
]


class Phrase:
    """A noun phrase in both languages: its words, and the gender and number French agreement needs."""

    def __init__(self, en, fr, gender, plural):
        self.en, self.fr, self.gender, self.plural = en, fr, gender, plural

    @property
    def pronoun(self):
        """The French subject pronoun that repeats this subject in an inverted question."""
        return ("elles" if self.gender == "f" else "ils") if self.plural else ("elle" if self.gender == "f" else "il")


def article(noun_fr, gender, plural, prep="none"):
    """The French definite article for a noun, elided before a vowel and contracted after "de" and "à"."""
    if plural:
        return {"de": "des", "à": "aux"}.get(prep, "les")
    if noun_fr[0] in VOWELS:
        return {"de": "de l'", "à": "à l'"}.get(prep, "l'")
    base = "la" if gender == "f" else "le"
    if prep == "de":
        return "de la" if gender == "f" else "du"
    if prep == "à":
        return "à la" if gender == "f" else "au"
    return base


def join_article(art, noun):
    """ "l'" and "de l'" join the next word without a space."""
    return art + noun if art.endswith("'") else f"{art} {noun}"


def noun_phrase(rng, depth, prep="none", plural=None):
    """A noun phrase with an optional adjective, and with ``depth`` > 0 a prepositional phrase or a relative
    clause after it; ``prep`` is the French preposition before it (for the article's contraction)."""
    en_s, en_p, fr_s, fr_p, g = rng.choice(NOUNS)
    plural = rng.random() < 0.3 if plural is None else plural
    en_n, fr_n = (en_p, fr_p) if plural else (en_s, fr_s)
    en, fr_noun = [en_n], fr_n
    if rng.random() < 0.6:
        adj = rng.choice(ADJECTIVES)
        en = [adj[0], en_n]
        fr_noun = f"{fr_n} {adj[1 + (g == 'f') + 2 * plural]}"  # the adjective follows and agrees
    art = article(fr_n, g, plural, prep)
    phrase = Phrase(["the"] + en, join_article(art, fr_noun), g, plural)
    if depth > 0 and rng.random() < 0.6:
        if rng.random() < 0.5:
            p_en, p_fr, kind = rng.choice(PREPOSITIONS)
            inner = noun_phrase(rng, depth - 1, kind)
            if kind != "none":  # "près de" + "le" -> "près du": the article takes the "de" (or "à") in
                p_fr = p_fr[:-3] if p_fr.endswith(" de") else ""
            phrase.en += [p_en] + inner.en
            phrase.fr += (f" {p_fr}" if p_fr else "") + f" {inner.fr}"
        else:
            verb = rng.choice(VERBS)
            obj = noun_phrase(rng, depth - 1)
            phrase.en += ["that", verb[0] if plural else verb[1]] + obj.en
            phrase.fr += f" qui {verb[3] if plural else verb[2]} {obj.fr}"
    return phrase


def objects(rng, depth):
    """One object, or two joined by "and" / "et"."""
    first = noun_phrase(rng, depth)
    if rng.random() < 0.3:
        second = noun_phrase(rng, 0)
        first.en += ["and"] + second.en
        first.fr += f" et {second.fr}"
    return first


def inverted(verb, subj):
    """The French verb with the subject pronoun after it: "mange-t-il", "mangent-ils"."""
    form = verb[3] if subj.plural else verb[2]
    link = "-t-" if form[-1] in "ae" else "-"
    return f"{form}{link}{subj.pronoun}"


def question(rng, depth=2):
    """One English question and its French translation."""
    kind = rng.randrange(5)
    if kind == 0:  # What is / What are ... ?
        subj = noun_phrase(rng, depth)
        quel = "quel" + ("le" if subj.gender == "f" else "") + ("s" if subj.plural else "")
        en = ["what", "are" if subj.plural else "is"] + subj.en
        fr = f"{quel} {'sont' if subj.plural else 'est'} {subj.fr}"
    elif kind == 4:  # Who V-s ... ? (no inversion)
        verb, obj = rng.choice(VERBS), objects(rng, depth)
        en, fr = ["who", verb[1]] + obj.en, f"qui {verb[2]} {obj.fr}"
    else:  # Where / Why / When does the N V ... ?  -> Où / Pourquoi / Quand le N V-t-il ... ?
        wh_en, wh_fr = [("where", "où"), ("why", "pourquoi"), ("when", "quand")][kind - 1]
        subj, verb = noun_phrase(rng, depth - 1), rng.choice(VERBS)
        obj = objects(rng, depth - 1)
        en = [wh_en, "do" if subj.plural else "does"] + subj.en + [verb[0]] + obj.en
        fr = f"{wh_fr} {subj.fr} {inverted(verb, subj)} {obj.fr}"
    return capitalise(" ".join(en)) + "?", capitalise(fr) + " ?"


def capitalise(s):
    """The first letter in upper case."""
    return s[:1].upper() + s[1:]


def make_translation_sample(dest, seed=0, n_pairs=4000, n_fillers=200, max_words=25):
    """Write ``n_pairs`` question pairs (at most ``max_words`` English words) and ``n_fillers`` other lines
    into ``dest`` as the giga-fren files; the same ``seed`` writes the same files."""
    rng = random.Random(seed)
    dest = Path(dest)
    lines, seen = [], set()
    while len(lines) < n_pairs:
        en, fr = question(rng, depth=rng.choice([1, 2, 2, 3]))
        if len(en.split()) <= max_words and en not in seen:
            seen.add(en)
            lines.append((en, fr))
    for _ in range(n_fillers):  # statements and non-"Wh" questions, which the filter drops
        i = rng.randrange(len(FILLERS))
        lines.insert(rng.randrange(len(lines) + 1), (FILLERS[i], FILLERS_FR[i]))
    dest.mkdir(parents=True, exist_ok=True)
    (dest / EN_FILE).write_text("".join(en + "\n" for en, _ in lines), encoding="utf-8")
    (dest / FR_FILE).write_text("".join(fr + "\n" for _, fr in lines), encoding="utf-8")
    return dest
