"""Benchmark: the rule index against brute force, same rules, same articles, same run.

Generates (deterministically, from --seed) 10,000 alert rules mixing every operator of
the query language (words, OR groups, phrases, negation, prefixes, NEAR/ONEAR, title:
and body:, site:/lang:/tag:, synonyms) and French and English articles of news length
(names and topical words follow Zipf laws; the rest of the vocabulary is a long tail of
pseudo-words). It times the build (parsing every rule, then ``RuleIndex.add_many``) and
reports the memory it took: the growth of this process's resident set over parsing and
over filing, and the peak. After 1,000 untimed articles (a daemon has seen articles before), 1,000
more go, by blocks of 50, through ``RuleIndex.match`` (the presearcher) and then
``RuleIndex.match_brute_force`` (every rule evaluated). It checks both give identical
results and prints both rates, in articles per CPU second of this single-threaded
process (one core), and their ratio. A progress bar goes to stderr.

    uv run python bench/rules.py [--rules 10000] [--articles 1000] [--warmup 1000] [--seed 7]
                                 [--json]

``--json`` prints the figures as one JSON object on stdout instead of the text lines.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import TypeVar

from monitor.rules import Document, Match, Query, RuleIndex, parse_query

# -- vocabulary (written for this benchmark) -------------------------------------------


def split(text: str) -> list[str]:
    return text.split()


FR_COMMON = split(
    """le la les de des du un une et à en pour que qui dans sur par avec est sont a ont il
    elle ils ce cette au aux plus pas ne se son sa ses leur mais ou comme été selon après
    avant entre depuis lors tout aussi très fait dit deux trois mois année semaine"""
)
EN_COMMON = split(
    """the of and to a in that is for on it with as was by at from he she they be are this
    have has had not but or an said which their more after over also its two three year
    week month people than about into would could"""
)
# Word families: the forms an article uses; rules are written with one of them.
FR_FAMILIES = [
    f.split()
    for f in """licenciement licenciements licencié licenciés licencier
    salarié salariés salariée salariées|entreprise entreprises|gouvernement gouvernements
    grève grèves|élection élections électoral électorale|économie économique économiques
    marché marchés|banque banques bancaire|inflation|chômage|syndicat syndicats syndical
    réforme réformes réformer|retraite retraites|énergie énergies énergétique
    climat climatique|sécheresse sécheresses|incendie incendies|forêt forêts
    usine usines|emploi emplois|travail travailleurs|salaire salaires|prix
    hausse hausses|baisse baisses|budget budgets budgétaire|dette dettes|impôt impôts
    ministre ministres|président présidente présidents|député députés|sénat sénateur
    tribunal tribunaux|enquête enquêtes enquêter|plainte plaintes|procès
    hôpital hôpitaux|médecin médecins|santé|vaccin vaccins|école écoles|élève élèves
    université universités|recherche chercheur chercheurs|données|logiciel logiciels
    intelligence artificielle|algorithme algorithmes|robot robots|cyberattaque cyberattaques
    piratage|réseau réseaux|plateforme plateformes|utilisateur utilisateurs
    voiture voitures|batterie batteries|électrique électriques|train trains|avion avions
    aéroport aéroports|port ports|agriculteur agriculteurs|récolte récoltes
    manifestation manifestations manifestant manifestants|police policier policiers
    lettre lettres|ouverte ouvertes|accord accords|négociation négociations
    rachat rachats racheter|fusion fusions|action actions actionnaire actionnaires
    bénéfice bénéfices|perte pertes|croissance|investissement investissements investir
    start-up|fondateur fondatrice|directeur directrice|patron patronne|conseil
    sanction sanctions|amende amendes|régulateur régulateurs|concurrence|monopole""".replace(
        "\n", "|"
    ).split("|")
]
EN_FAMILIES = [
    f.split()
    for f in """layoff layoffs laid|employee employees|company companies|government
    strike strikes striking|election elections electoral|economy economic economics
    market markets|bank banks banking|inflation|unemployment|union unions
    reform reforms|pension pensions|energy|climate|drought droughts|wildfire wildfires
    forest forests|factory factories|job jobs|worker workers|wage wages|price prices
    rise rises rising|budget budgets|debt debts|tax taxes taxed|minister ministers
    president presidents|senator senators|court courts|investigation investigations
    lawsuit lawsuits|trial trials|hospital hospitals|doctor doctors|health|vaccine vaccines
    school schools|student students|university universities|research researcher researchers
    data|software|artificial intelligence|algorithm algorithms|robot robots
    cyberattack cyberattacks|hacking hacked|network networks|platform platforms
    user users|car cars|battery batteries|electric|train trains|plane planes|airport
    farmer farmers|harvest harvests|protest protests protesters|police officer officers
    letter letters|open|deal deals|talks|acquisition acquisitions acquire acquired
    merger mergers|share shares shareholder shareholders|profit profits|loss losses
    growth|investment investments invest|startup startups|founder founders
    chief executive|board|sanction sanctions|fine fines fined|regulator regulators
    competition|monopoly""".replace("\n", "|").split("|")
]
REAL_NAMES = split(
    """Amazon Google Apple Microsoft Meta Tesla Renault Airbus Boeing Orange Total Danone
    Carrefour Sanofi Nvidia OpenAI Netflix Spotify Uber Airbnb Macron Biden Lagarde Musk
    Bezos Altman Paris Lyon Marseille Bruxelles Londres Berlin Amazonie Bretagne Normandie
    Genève Québec"""
)
# Names and the rest of the vocabulary are built from different syllables, so that a
# rule's prefix (Kamodor*) stays a name's prefix as it would in real text.
NAME_SYLLABLES = split("ka ri mo te lu na vo xe pa len dor vis")
WORD_SYLLABLES = split("tal mer qui bra sol ven tix gar be fo si rom bu che")
SITES = split(
    """lemonde.fr liberation.fr lefigaro.fr lesechos.fr francetvinfo.fr rfi.fr bbc.co.uk
    theguardian.com reuters.com apnews.com nytimes.com ft.com"""
)
TAGS = split("tech eco politique monde science sport culture fr en")
SYNONYMS = [["IA", "AI", "intelligence artificielle"], ["licenciements", "layoffs"]]

T = TypeVar("T")
BLOCK = 50


def make_words(rng: random.Random, count: int, syllables: list[str]) -> list[str]:
    found: set[str] = set()
    while len(found) < count:
        found.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(found)


class Zipf:
    """Draws items with probability proportional to 1 / rank**exponent (a few are everywhere)."""

    def __init__(self, items: Sequence[T], exponent: float) -> None:
        self.items = list(items)
        self.cumulative = list(accumulate(1 / (r + 1) ** exponent for r in range(len(items))))

    def __call__(self, rng: random.Random) -> T:
        at = bisect_left(self.cumulative, rng.random() * self.cumulative[-1])
        return self.items[min(at, len(self.items) - 1)]


class Corpus:
    """Words, names and their popularity, shared by the article and rule generators."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        names = REAL_NAMES + [w.capitalize() for w in make_words(rng, 3000, NAME_SYLLABLES)]
        rng.shuffle(names)
        self.names = Zipf(names, 0.6)
        # The rest of each language: pseudo-words, so that articles have the spread of
        # vocabulary real ones have rather than repeating a few hundred words.
        self.filler = {
            lang: Zipf(make_words(rng, 20_000, WORD_SYLLABLES), 1.0) for lang in ("fr", "en")
        }
        self.common = {"fr": Zipf(FR_COMMON, 1.0), "en": Zipf(EN_COMMON, 1.0)}
        self.family_of = {"fr": Zipf(FR_FAMILIES, 0.7), "en": Zipf(EN_FAMILIES, 0.7)}

    def name(self) -> str:
        return self.names(self.rng)

    def families(self, lang: str) -> list[list[str]]:
        return FR_FAMILIES if lang == "fr" else EN_FAMILIES

    def family(self, lang: str) -> list[str]:
        return self.family_of[lang](self.rng)

    def word(self, lang: str) -> str:
        return self.rng.choice(self.family(lang))


def sentence(corpus: Corpus, lang: str, topics: list[list[str]], names: list[str]) -> str:
    rng = corpus.rng
    out: list[str] = []
    for _ in range(rng.randint(8, 24)):
        roll = rng.random()
        if roll < 0.45:
            word = corpus.common[lang](rng)
        elif roll < 0.57:
            word = rng.choice(rng.choice(topics))
        elif roll < 0.58:
            # A topical word outside the article's topics: rare, as "licenciements" is
            # in an article about something else.
            word = rng.choice(rng.choice(corpus.families(lang)))
        elif roll < 0.92:
            word = corpus.filler[lang](rng)
        elif roll < 0.98:
            word = rng.choice(names)
        else:
            word = str(rng.randint(2, 2030))
        if lang == "fr" and word[0] in "aeéiou" and rng.random() < 0.5:
            word = rng.choice(["l'", "d'", "qu'"]) + word
        out.append(word)
    out[0] = out[0][0].upper() + out[0][1:]
    return " ".join(out) + rng.choice([".", ".", ".", " !", " ?"])


def make_article(corpus: Corpus) -> Document:
    rng = corpus.rng
    lang = rng.choice(["fr", "en"])
    names = [corpus.name() for _ in range(rng.randint(2, 6))]
    topics = [corpus.family(lang) for _ in range(rng.randint(2, 4))]
    title = sentence(corpus, lang, topics, names)[:90].rstrip(" .!?")
    paragraphs = []
    words = 0
    target = rng.randint(300, 700)
    while words < target:
        paragraph = " ".join(
            sentence(corpus, lang, topics, names) for _ in range(rng.randint(2, 5))
        )
        words += paragraph.count(" ") + 1
        paragraphs.append(paragraph)
    site = rng.choice(SITES)
    return Document(
        title=title,
        text="\n\n".join(paragraphs),
        language=rng.choice([lang, lang, lang, None]),
        url=f"https://www.{site}/{rng.randint(1, 10**6)}.html",
        site=site,
        source=site.split(".")[0],
        tags=tuple(rng.sample(TAGS, 2)),
    )


def make_rule(corpus: Corpus) -> str:
    rng = corpus.rng
    lang = rng.choice(["fr", "en"])
    name, other, word = corpus.name(), corpus.name(), corpus.word(lang)
    kind = rng.random()
    if kind < 0.30:
        return f"{name} {word}" if rng.random() < 0.7 else f"{name} {word} {corpus.word(lang)}"
    if kind < 0.42:
        return f"({name} OR {other}) {word}"
    if kind < 0.50:
        family = corpus.family(lang)
        return f'{name} "{" ".join(rng.sample(family, min(2, len(family))))}"'
    if kind < 0.58:
        return f"{name} {word} -{corpus.word(lang)}"
    if kind < 0.64:
        return f"{name[: max(4, len(name) - rng.randint(0, 2))]}* {word}"
    if kind < 0.72:
        op = rng.choice(["NEAR", "ONEAR"])
        return f"{name} {op}/{rng.randint(2, 10)} {word}"
    if kind < 0.80:
        return f"{rng.choice(['title', 'body'])}:{name} {word}"
    if kind < 0.90:
        meta = rng.choice([f"site:{rng.choice(SITES)}", f"lang:{lang}", f"tag:{rng.choice(TAGS)}"])
        return f"{name} {word} {meta}"
    return f"{name} {rng.choice(['IA', 'AI', 'licenciements', 'layoffs'])} NOT {other}"


def resident_mb() -> float:
    """This process's resident set now, in MB (Linux: /proc; elsewhere the peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_mb()


def peak_mb() -> float:
    """The peak resident set of this process so far, in MB (ru_maxrss is in KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def progress(label: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        filled = 30 * done // total
        sys.stderr.write(f"\r{label:<12} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def run(
    index: RuleIndex, docs: list[Document], label: str, brute: bool = True
) -> tuple[float, float, bool, list[dict[str, Match]]]:
    """CPU seconds of the index, of brute force, whether they agree, and the matches.

    Articles go by blocks of BLOCK, each through the index and then through brute
    force, so both work under the same load from whatever else runs on the machine;
    the index goes first and pays for registering the articles' new words. (Going
    article by article would have brute force evict the index from the CPU caches
    before every article, which a daemon running only the index never suffers.)
    """
    show = progress(label)
    index_cpu = brute_cpu = 0.0
    identical = True
    results: list[dict[str, Match]] = []
    clock = time.process_time
    for at in range(0, len(docs), BLOCK):
        block = docs[at : at + BLOCK]
        start = clock()
        found = [index.match(doc) for doc in block]
        index_cpu += clock() - start
        if brute:
            start = clock()
            reference = [index.match_brute_force(doc) for doc in block]
            brute_cpu += clock() - start
            identical = identical and found == reference
        results += found
        show(len(results), len(docs))
    return index_cpu, brute_cpu, identical, results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=1_000)
    parser.add_argument("--warmup", type=int, default=1_000, help="articles matched first, untimed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    corpus = Corpus(random.Random(args.seed))
    warmup = [make_article(corpus) for _ in range(args.warmup)]
    docs = [make_article(corpus) for _ in range(args.articles)]
    texts = [make_rule(corpus) for _ in range(args.rules)]
    before = resident_mb()
    start = time.perf_counter()
    queries: list[Query] = [parse_query(text, SYNONYMS) for text in texts]
    parsed = time.perf_counter()
    after_parse = resident_mb()
    index = RuleIndex()
    index.add_many((f"rule-{i}", query) for i, query in enumerate(queries))
    built = time.perf_counter()
    build = {
        "build_s": built - start,
        "parse_s": parsed - start,
        "index_s": built - parsed,
        "queries_mb": after_parse - before,
        "index_mb": resident_mb() - after_parse,
    }

    # A running daemon has seen articles before: the vocabulary registry and the
    # index's per-word cache are warm. Other articles from the same generator warm them
    # up; the measured articles still bring words never seen before.
    run(index, warmup, "warm-up", brute=False)
    wall = time.perf_counter()
    index_cpu, brute_cpu, identical, found = run(index, docs, "measuring")
    wall = time.perf_counter() - wall

    # Rates are per CPU second of this single-threaded process (one core), so that
    # other work on the machine does not count against either side.
    index_rate = len(docs) / index_cpu
    brute_rate = len(docs) / brute_cpu
    figures = {
        "rules": len(queries),
        "articles": len(docs),
        "warmup": args.warmup,
        "seed": args.seed,
        **build,
        "peak_rss_mb": peak_mb(),
        "matches_per_article": sum(len(f) for f in found) / len(docs),
        "index_articles_per_s": index_rate,
        "brute_articles_per_s": brute_rate,
        "index_cpu_s": index_cpu,
        "brute_cpu_s": brute_cpu,
        "wall_s": wall,
        "ratio": index_rate / brute_rate,
        "identical": identical,
        "load_average": list(os.getloadavg()),
    }
    if args.json:
        print(json.dumps(figures))
        return 0 if identical else 1
    report(args, len(queries), build, docs, found)
    print(f"index:       {index_rate:7.1f} articles/s ({index_cpu:.2f} s CPU)")
    print(f"brute force: {brute_rate:7.1f} articles/s ({brute_cpu:.2f} s CPU)")
    print(f"(both together: {index_cpu + brute_cpu:.1f} s CPU, {wall:.1f} s wall)")
    same = "yes" if identical else "NO"
    print(f"ratio: {index_rate / brute_rate:.1f}x  identical results: {same}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average: {load}")
    return 0 if identical else 1


def report(
    args: argparse.Namespace,
    rules: int,
    build: dict[str, float],
    docs: list[Document],
    found: list[dict[str, Match]],
) -> None:
    matches = sum(len(f) for f in found)
    words = sum(len(d.text.split()) + len(d.title.split()) for d in docs)
    langs = {code: sum(1 for d in docs if d.language == code) for code in ("fr", "en", None)}
    print(
        f"rules: {rules} (parsed and indexed in {build['build_s']:.2f} s: parse"
        f" {build['parse_s']:.2f} s, index {build['index_s']:.2f} s), seed {args.seed}"
    )
    print(
        f"memory: queries +{build['queries_mb']:.0f} MB, index +{build['index_mb']:.0f} MB"
        f" resident; peak RSS {peak_mb():.0f} MB"
    )
    print(
        f"articles: {len(docs)} after {args.warmup} untimed ({words / len(docs):.0f} words on"
        f" average; fr {langs['fr']}, en {langs['en']}, language unknown {langs[None]})"
    )
    print(f"matches: {matches} ({matches / len(docs):.1f} per article)")


if __name__ == "__main__":
    raise SystemExit(main())
