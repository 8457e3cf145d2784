"""RuleIndex gives exactly the answers of evaluating every rule, only faster.

The property test draws random queries (every operator, nested) and random French and
English articles from one small vocabulary, so that rules do fire, and compares the
index with each rule's own ``Query.match_document``.
"""

from __future__ import annotations

import gc
import random
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import QueryError
from monitor.rules import Document, Match, Query, RuleIndex, Vocabulary, parse_query
from monitor.rules._analyzed import Analyzed
from monitor.rules._matcher import Near

WORDS = [
    "Amazon", "Amazonie", "Google", "Renault", "IA", "AI", "licenciement",
    "licenciements", "licenciés", "grève", "grèves", "salariés", "lettre", "ouverte",
    "économie", "intelligence", "artificielle", "layoffs", "layoff", "laid", "strike",
    "employees", "letter", "open", "economy", "artificial", "aujourd'hui", "e-mail",
    "COVID-19", "l'IA", "d'Amazon", "Amazon's", "le", "the", "et", "and",
]  # fmt: skip
SITES = ["lemonde.fr", "www.lemonde.fr", "pixels.lemonde.fr", "bbc.co.uk", ""]
TAGS = ["tech", "eco", "fr", "en"]
SYNONYMS = [["IA", "AI", "intelligence artificielle"], ["licenciements", "layoffs"]]


def _spell(word: str, how: int) -> str:
    # The same word as articles write it: as is, capitals, lower case, no accents.
    if how == 1:
        return word.upper()
    if how == 2:
        return word.lower()
    if how == 3:
        decomposed = unicodedata.normalize("NFD", word)
        return "".join(c for c in decomposed if not unicodedata.combining(c))
    return word


words = st.builds(_spell, st.sampled_from(WORDS), st.integers(0, 3))
texts = st.lists(
    st.tuples(words, st.sampled_from([" ", " ", " ", ", ", ". ", "\n\n", " - "])),
    max_size=40,
).map(lambda parts: "".join(w + sep for w, sep in parts))
documents = st.builds(
    Document,
    title=texts.map(lambda t: t[:80]),
    text=texts,
    language=st.sampled_from(["fr", "en", "fr-FR", None]),
    url=st.sampled_from(["", "https://www.lemonde.fr/tech/a.html", "https://bbc.co.uk/news"]),
    site=st.sampled_from(SITES),
    source=st.sampled_from(["", "lemonde-pixels", "bbc"]),
    tags=st.lists(st.sampled_from(TAGS), max_size=2).map(tuple),
)

word_terms = st.sampled_from(WORDS)
positional = st.one_of(
    word_terms,
    word_terms.filter(lambda w: len(w) >= 3 and w.isalpha()).map(lambda w: w[:3] + "*"),
    st.lists(word_terms, min_size=1, max_size=2).map(lambda ws: '"' + " ".join(ws) + '"'),
)
meta = st.one_of(
    st.sampled_from(SITES[:-1]).map(lambda s: "site:" + s),
    st.sampled_from(["fr", "en"]).map(lambda s: "lang:" + s),
    st.sampled_from(TAGS).map(lambda s: "tag:" + s),
    st.sampled_from(["lemonde-pixels", "lemonde-*", "bbc"]).map(lambda s: "source:" + s),
    st.sampled_from(["/tech/", "news"]).map(lambda s: "url:" + s),
)


# Words close to one another in a few short texts, some matching two terms at once.
NEAR_TERMS = ["Amazon", "licenciements", "Amaz*", '"IA"', "IA", "layoffs", "aujourd'hui", "mot"]
NEAR_TEXT = ["Amazon", "licenciement", "licenciements", "IA", "l'IA", "Amazonie", "mot", "et"]
NEAR_TEXT += ["aujourd'hui", "layoffs", "autre", "Amazon's"]


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " ".join(xs) + ")"),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " OR ".join(xs) + ")"),
        inner.map(lambda x: "-" + x),
        st.tuples(st.sampled_from(["title:", "body:"]), inner).map("".join),
        st.tuples(
            positional, st.sampled_from(["NEAR", "ONEAR"]), st.integers(0, 4), positional
        ).map(lambda t: f"{t[0]} {t[1]}/{t[2]} {t[3]}"),
    )


queries = st.recursive(st.one_of(positional, meta), _combine, max_leaves=6)


def _parse_all(texts: list[str], synonyms: bool) -> list[Query]:
    parsed = []
    for text in texts:
        try:
            parsed.append(parse_query(text, SYNONYMS if synonyms else ()))
        except QueryError:
            continue  # "-x" alone, nested fields...: refused, as a user would be told
    return parsed


def _one_by_one(rules: dict[str, Query], doc: Document) -> dict[str, Match]:
    found = {}
    for rule_id, query in rules.items():
        match = query.match_document(doc)
        if match is not None:
            found[rule_id] = match
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(queries, min_size=1, max_size=25),
    docs=st.lists(documents, min_size=1, max_size=4),
    synonyms=st.booleans(),
    drop=st.integers(0, 5),
)
def test_the_index_answers_like_evaluating_every_rule(
    texts: list[str], docs: list[Document], synonyms: bool, drop: int
) -> None:
    rules = {f"r{i}": q for i, q in enumerate(_parse_all(texts, synonyms))}
    index = RuleIndex()
    for rule_id, query in rules.items():
        index.add(rule_id, query)
    # Rules come and go: removed ones must never answer, replaced ones answer anew.
    for rule_id in list(rules)[:drop]:
        index.remove(rule_id)
        del rules[rule_id]
    if rules:
        first = next(iter(rules))
        rules[first] = parse_query("Amazon OR layoffs")
        index.add(first, rules[first])
    for doc in docs:
        expected = _one_by_one(rules, doc)
        assert index.match(doc) == expected
        assert index.match(doc, explained=True) == expected
        assert index.match_brute_force(doc) == expected
        assert list(index.match(doc)) == [r for r in index._rules if r in expected]


def test_matches_explained_at_once_analyse_the_article_once_and_keep_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = RuleIndex()
    index.add("ia", parse_query("IA licenciements", SYNONYMS))
    index.add("amazon", parse_query('"Amazon annonce"'))
    doc = Document(
        "Amazon annonce des licenciements",
        "Amazon annonce des licenciements liés à l'IA dans ses entrepôts.",
        "fr",
    )
    analyses: list[Document] = []
    real = Analyzed.__init__

    def counted(self: Analyzed, doc: Document, vocabulary: Vocabulary) -> None:
        analyses.append(doc)
        real(self, doc, vocabulary)

    monkeypatch.setattr(Analyzed, "__init__", counted)
    deferred = index.match(doc)
    shown = [m.snippet_marked() for m in deferred.values()]
    assert len(analyses) == 2  # the rules' analysis, then the snippets' own
    analyses.clear()
    explained = index.match(doc, explained=True)
    assert [m.snippet_marked() for m in explained.values()] == shown
    assert explained == deferred and len(analyses) == 1
    assert shown[0] == "Amazon annonce des **licenciements** liés à l'**IA** dans ses entrepôts."
    # Explained, the matches let go of the analysis (and its tables) they were read
    # from; the deferred ones keep the one their snippets made, for the next reader.
    assert all(m._explain is None for m in explained.values())
    del deferred
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, Analyzed)]


def test_the_index_only_evaluates_rules_that_could_match() -> None:
    rng = random.Random(4)
    names = [f"Entreprise{i}" for i in range(300)]
    index = RuleIndex()
    for i, name in enumerate(names):
        index.add(f"r{i}", parse_query(f"{name} licenciements"))
    index.add("meta", parse_query("site:lemonde.fr grève"))
    index.add("open", parse_query("url:amazon"))  # nothing to file it under: always checked
    doc = Document(
        "Entreprise7 licencie",
        " ".join(rng.choice(names[:20]) for _ in range(30)) + " licenciements Entreprise250",
        "fr",
        url="https://example.org/amazon",
    )
    found = index.match(doc)
    assert set(found) == {"r7", "r250", "open"} | {
        f"r{i}" for i in range(20) if names[i] in doc.text.split()
    }
    candidates = {entry.rule_id for entry in index._candidates(Analyzed(doc, index.vocabulary))}
    assert candidates <= set(found) | {"meta"}
    assert len(candidates) < 30 < len(index)


def test_a_rule_of_three_words_waits_for_all_three() -> None:
    # Filed under two of its words only, "Amazon" and the phrase's first word would
    # make it a candidate on every article about Amazon's artificial anything.
    index = RuleIndex()
    index.add("phrase", parse_query('Amazon "intelligence artificielle"'))
    index.add("three", parse_query("Amazon entrepôt grève"))
    index.add("sure", parse_query("Amazon Lyon entrepôts"))
    partial = Document(
        "Amazon et l'intelligence", "L'intelligence du nouvel entrepôt d'Amazon.", "fr"
    )
    analyzed = Analyzed(partial, index.vocabulary)
    assert index._candidates(analyzed) == []
    assert index.match(partial) == index.match_brute_force(partial) == {}
    whole = Document(
        "Amazon", "Grève dans l'entrepôt d'Amazon à Lyon, géré par intelligence artificielle.", "fr"
    )
    found = index.match(whole)
    assert set(found) == {"phrase", "three", "sure"} == set(index.match_brute_force(whole))
    # Three words joined by AND, all three filed: a candidate is a match, no test needed.
    candidates = index._candidates(Analyzed(whole, index.vocabulary))
    assert [entry.sure for entry in candidates] == [False, True, True]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(queries, min_size=1, max_size=20),
    later=st.lists(queries, min_size=1, max_size=6),
    docs=st.lists(documents, min_size=1, max_size=3),
    synonyms=st.booleans(),
    drop=st.integers(0, 6),
)
def test_rules_changed_between_articles_answer_like_evaluating_every_rule(
    texts: list[str], later: list[str], docs: list[Document], synonyms: bool, drop: int
) -> None:
    # The index remembers which rules each chunk of text wakes; rules added or removed
    # after articles were matched (their slots reused) must find that memory right.
    rules = {f"r{i}": q for i, q in enumerate(_parse_all(texts, synonyms))}
    index = RuleIndex()
    index.add_many(rules.items())
    for doc in docs:
        index.match(doc)
    for rule_id in list(rules)[:drop]:
        index.remove(rule_id)
        del rules[rule_id]
    for i, query in enumerate(_parse_all(later, synonyms)):
        rules[f"n{i}"] = query
        index.add(f"n{i}", query)
    for doc in docs:
        assert index.match(doc) == _one_by_one(rules, doc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.sampled_from(NEAR_TERMS),
    second=st.sampled_from(NEAR_TERMS),
    op=st.sampled_from(["NEAR", "ONEAR"]),
    gap=st.integers(0, 4),
    title=st.lists(st.sampled_from(NEAR_TEXT), max_size=8),
    body=st.lists(st.sampled_from(NEAR_TEXT), max_size=30),
    synonyms=st.booleans(),
)
def test_two_words_near_each_other_are_found_as_the_windows_find_them(
    first: str, second: str, op: str, gap: int, title: list[str], body: list[str], synonyms: bool
) -> None:
    # NEAR between two single words, each perhaps with its one-word synonyms, is
    # decided from their positions alone (Near.pair): it must say what the general
    # windows (_find) say, in each stream.
    doc = Document(" ".join(title), " ".join(body), "fr")
    groups = [["IA", "AI", "mot"], ["licenciements", "layoffs"]] if synonyms else []
    try:
        query = parse_query(f"{first} {op}/{gap} {second}", groups)
    except QueryError:
        return
    near = query._root
    if not isinstance(near, Near) or near.pair is None:
        return
    analyzed = Analyzed(doc, Vocabulary())
    for stream in (0, 1):
        if all(member.test(analyzed, 1 << stream) for member in near.members):
            windows = bool(near._find(analyzed, stream, first=True))
            assert near._near(analyzed, stream) == windows


def test_a_rule_added_or_removed_forgets_only_the_chunks_holding_its_words() -> None:
    doc = Document("", "Amazon annonce des licenciements chez Renault", "fr")
    index = RuleIndex()
    index.add("a", parse_query("Amazon licenciements"))
    assert set(index.match(doc)) == {"a"}
    cache = index._woken.by_langs[Analyzed(doc, index.vocabulary).langs]
    assert {"amazon", "licenciements", "renault"} <= set(cache)
    index.add("b", parse_query("Renault"))
    assert "renault" not in cache and "amazon" in cache
    assert set(index.match(doc)) == {"a", "b"}
    index.remove("a")
    assert "amazon" not in cache and "renault" in cache
    index.add("c", parse_query("chez annonce"))  # in the slot "a" left
    assert set(index.match(doc)) == {"b", "c"}


def test_add_replaces_and_remove_forgets() -> None:
    doc = Document("", "Amazon annonce des licenciements", "fr")
    index = RuleIndex()
    index.add("a", parse_query("Amazon licenciements"))
    index.add("b", parse_query("Google"))
    assert set(index.match(doc)) == {"a"}
    index.add("b", parse_query("annonce"))
    assert list(index.match(doc)) == ["a", "b"]
    index.remove("a")
    index.remove("unknown")
    assert list(index.match(doc)) == ["b"]
    assert len(index) == 1
    assert "b" in index
    assert "a" not in index


def test_results_keep_the_order_rules_were_added_in() -> None:
    doc = Document("", "Amazon et Google et Renault", "fr")
    index = RuleIndex()
    for rule_id in ["z", "a", "m"]:
        index.add(rule_id, parse_query("Amazon"))
    index.add("a", parse_query("Google"))  # replaced: now the last added
    assert list(index.match(doc)) == ["z", "m", "a"]


def test_answers_survive_the_vocabulary_being_emptied() -> None:
    # The vocabulary of words seen is bounded; when full it starts again. Every article
    # analysed after that, and any analysis caught in the middle, must still answer right.
    vocabulary = Vocabulary(limit=40)
    index = RuleIndex(vocabulary)
    index.add("a", parse_query("Amazon licenciements"))
    index.add("b", parse_query('"lettre ouverte" NEAR/3 Amazon*'))
    rng = random.Random(9)
    for i in range(30):
        filler = " ".join(f"mot{rng.randrange(10_000)}" for _ in range(30))
        doc = Document("", f"{filler} Amazon licenciements lettre ouverte d'Amazon {i}", "fr")
        assert set(index.match(doc)) == {"a", "b"}
        assert set(index.match_brute_force(doc)) == {"a", "b"}
    stale = Analyzed(Document("", "Amazon", "fr"), vocabulary)
    Analyzed(Document("", " ".join(f"neuf{i}" for i in range(60)), "fr"), vocabulary)  # empties
    assert not stale.fresh()


def test_an_analysis_spoilt_by_an_emptying_mid_match_is_redone() -> None:
    """Another thread empties the vocabulary while the rules read an article: the answer
    read from the spoilt analysis is dropped and the article analysed again."""
    from monitor.rules import Document, Vocabulary
    from monitor.rules._analyzed import evaluate_fresh

    vocabulary = Vocabulary(limit=10_000)
    doc = Document(title="Amazon", text="Les licenciements chez Amazon", language="fr")
    calls: list[int] = []

    def evaluate(analyzed: object) -> int:
        calls.append(1)
        if len(calls) == 1:  # what a concurrent registration past the limit does
            vocabulary.register(frozenset(f"w{i}" for i in range(10_001)), ("fr",))
        return len(calls)

    assert evaluate_fresh(doc, vocabulary, evaluate) == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(queries, min_size=1, max_size=25),
    docs=st.lists(documents, min_size=1, max_size=3),
    synonyms=st.booleans(),
)
def test_an_index_built_in_bulk_answers_like_one_built_rule_by_rule(
    texts: list[str], docs: list[Document], synonyms: bool
) -> None:
    # Ids repeat, as a config reloaded with an alert changed does: the last one wins.
    rules = [(f"r{i % 7}", q) for i, q in enumerate(_parse_all(texts, synonyms))]
    one_by_one, bulk = RuleIndex(), RuleIndex()
    for rule_id, query in rules:
        one_by_one.add(rule_id, query)
    bulk.add_many(rules)
    for doc in docs:
        expected = one_by_one.match_brute_force(doc)
        assert bulk.match(doc) == expected
        assert list(bulk.match(doc)) == list(expected)


def test_a_rule_replaced_within_one_bulk_add_leaves_nothing_of_the_first_behind() -> None:
    # A config reloaded with an alert written twice: the second "r0" takes the first's
    # slot, and the first's prefix must not wake it ("Amalfi" is not "Amazon Lyon").
    index = RuleIndex()
    index.add_many([("r0", parse_query("Ama*")), ("r0", parse_query("Amazon Lyon"))])
    amalfi = Document("Amalfi", "Des touristes à Amalfi.", "fr")
    assert index.match(amalfi) == index.match_brute_force(amalfi) == {}
    assert set(index.match(Document("Amazon", "Amazon ouvre à Lyon.", "fr"))) == {"r0"}


def test_rules_filed_before_a_bulk_add_failed_still_match() -> None:
    def rules() -> Iterator[tuple[str, Query]]:
        yield "a", parse_query("Amazon licenciements")
        yield "b", parse_query("Google")
        raise QueryError("bad row", "Amazon AND (", 11)

    index = RuleIndex()
    with pytest.raises(QueryError):
        index.add_many(rules())
    doc = Document("Google", "Amazon annonce des licenciements", "fr")
    assert list(index.match(doc)) == ["a", "b"] == list(index.match_brute_force(doc))
    assert gc.isenabled()


def test_a_bulk_add_leaves_the_cycle_collector_as_it_found_it() -> None:
    index = RuleIndex()
    index.add_many([("a", parse_query("Amazon"))])
    assert gc.isenabled()
    gc.disable()
    try:
        index.add_many([("b", parse_query("Google"))])
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert set(index.match(Document("", "Amazon et Google", "fr"))) == {"a", "b"}


def test_identical_queries_are_parsed_once_and_bad_ones_still_fail_each_time() -> None:
    first = parse_query("Amazon (licenciements OR grève) -Google", SYNONYMS)
    again = parse_query("Amazon (licenciements OR grève) -Google", SYNONYMS)
    assert first is not again and first._root is again._root
    # Other synonyms, another tree: "licenciements" is expanded only with them.
    plain = parse_query("Amazon (licenciements OR grève) -Google")
    assert plain._root is not first._root
    doc = Document("", "Amazon: layoffs announced", "en")
    assert first.match_document(doc) is not None and plain.match_document(doc) is None
    for _ in range(2):
        with pytest.raises(QueryError) as caught:
            parse_query("Amazon AND (grève", SYNONYMS)
        assert caught.value.position is not None
