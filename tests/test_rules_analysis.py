"""Text analysis as a reader of French and English news meets it: elision, stop words,
short words and short texts whose language the detector may have guessed wrong."""

from __future__ import annotations

import pytest

from monitor.rules import Document, RuleIndex, parse_query
from monitor.rules._analysis import chunk_words, stemmers_for

FR = "fr"
EN = "en"

# (query, title, body, language, fires?)
ELISION = [
    ("AI", "", "J'ai lu le rapport hier soir.", FR, False),
    ("AI", "", "J’ai lu le rapport hier soir.", FR, False),  # typographic apostrophe
    ("AI", "", "Je l'ai lu hier, je ne l’ai pas aimé.", FR, False),
    ("AI", "", "Ce que j'ai vu", None, False),  # whatever the language: a verb
    ("AI", "", "Ce que je n'ai pas dit", EN, False),
    ("IA", "", "J'ai lu un rapport sur l'IA générative", FR, True),
    ("IA", "", "Un rapport sur l’IA générative", FR, True),
    ("Amazon", "", "Les salariés d’Amazon protestent", FR, True),
    ("Amazon", "", "Il dit qu’Amazon a menti", FR, True),
    ("Amazon", "", "Amazon’s warehouse workers walked out", EN, True),
    ("Est", "", "Les pays de l'Est investissent", FR, True),  # l'Est is a noun
    ("Grand Est", "", "La région Grand Est recrute", FR, True),
    ('"j\'ai"', "", "J’ai signé la lettre", FR, True),  # a quoted form still matches
    ("j'ai", "", "J’ai signé la lettre", FR, True),
    ('"c\'est la vie"', "", "C'est la vie, dit-il", FR, True),
]

STOP_WORDS = [
    ("AI", "", "Ai-je bien compris le rapport ?", FR, False),
    ("EU", "", "Ils ont eu raison de signer", FR, False),
    ("EU", "", "The EU adopted the AI Act on Tuesday", EN, True),
    ("ONT", "", "Les syndicats ont signé un accord", FR, False),
    ("ONT", "", "The ONT boxes were replaced", EN, True),
    ("AI", "", "Regulators look at generative AI models", EN, True),
    ("IA", "", "Une IA conversationnelle", FR, True),
    ("prix des carburants", "", "Les prix des carburants flambent", FR, True),
    ("state of the union", "", "The State of the Union address", EN, True),
]

SHORT_WORDS = [
    ("élu", "", "Une élue locale démissionne", FR, True),
    ("élue", "", "Les élus locaux démissionnent", FR, True),
    ("jeu", "", "Les jeux vidéo en procès", FR, True),
    ("eau", "", "Les eaux usées débordent", FR, True),
    ("taxe", "", "Les taxes sur le carburant augmentent", FR, True),
    ("vote", "", "Les votes blancs comptent", FR, True),
    ("loi", "", "Deux lois adoptées", FR, True),
    ("cheval", "", "Des chevaux sur la piste", FR, True),
    ("journal", "", "Les journaux du matin", FR, True),
    ("tax", "", "New taxes on fuel", EN, True),
    ("job", "", "Thousands of jobs are at risk", EN, True),
    # traps the short-word stemming must keep
    ("Meta", "", "Les mets sont servis", FR, False),
    ("Meta", "", "Meta lance un casque", FR, True),
    ("vote", "", "Le veto du président", FR, False),
    ("eau", "", "Un beau jour", FR, False),
]

# A title alone gives the detector little to go on: the stem must meet whichever of
# French or English the article was labelled with.
SHORT_TEXTS = [
    ("aide", "Nouvelles aides aux agriculteurs", "", EN, True),
    ("européen", "Sommet des dirigeantes européennes", "", EN, True),
    ("annoncé", "Plan social annoncée", "", EN, True),
    ("worker", "Workers strike at Amazon", "", FR, True),
    ("company", "Tech companies cut jobs", "", FR, True),
    ("study", "New studies on sleep", "", FR, True),
    ("grève", "Grèves chez Amazon", "", EN, True),
    ("aide", "Nouvelles aides aux agriculteurs", "", FR, True),
    ("worker", "Workers strike at Amazon", "", EN, True),
    # both stemmers, still no over-reach
    ("Amazon", "La forêt d'Amazonie brûle", "", EN, False),
    ("Amazon", "Fires in the Amazonia rainforest", "", FR, False),
    ("AI", "J'ai vu la grève", "", EN, False),
    ("EU", "Ils ont eu raison", "", FR, False),  # French stop words kept, English stems too
    ("EU", "EU leaders meet", "", EN, True),  # a short English text keeps English stop words
]

CASES = ELISION + STOP_WORDS + SHORT_WORDS + SHORT_TEXTS


@pytest.mark.parametrize(
    ("query", "title", "body", "language", "fires"),
    CASES,
    ids=[f"{i:02d}:{c[0]}:{c[3]}" for i, c in enumerate(CASES)],
)
def test_query_fires_as_a_reader_expects(
    query: str, title: str, body: str, language: str | None, fires: bool
) -> None:
    match = parse_query(query).match(title, body, language)
    assert (match is not None) == fires, f"{query!r} on {title!r} / {body!r} ({language})"


def test_the_index_agrees_with_each_query_on_the_table() -> None:
    # The rule index files words by their stem keys per reading: the borrowed readings of
    # short texts and the stop words must give the answers of the queries on their own.
    index = RuleIndex()
    for number, (query, *_) in enumerate(CASES):
        index.add(str(number), parse_query(query))
    for number, (query, title, body, language, fires) in enumerate(CASES):
        doc = Document(title, body, language)
        found = set(index.match(doc))
        assert found == set(index.match_brute_force(doc))
        assert (str(number) in found) == fires, f"{query!r} on {title!r} / {body!r}"


@pytest.mark.parametrize(
    ("chunk", "words"),
    [
        ("l'ia", ["ia"]),
        ("l’ia", ["ia"]),
        ("d'amazon", ["amazon"]),
        ("qu'il", ["il"]),
        ("jusqu'au", ["au"]),
        ("aujourd'hui", ["aujourd", "hui"]),
        ("j'ai", ["j'ai"]),
        ("j’ai", ["j'ai"]),
        ("n'est", ["n'est"]),
        ("c'était", ["c'etait"]),
        ("l'ai", ["l'ai"]),
        ("l'est", ["est"]),
        ("amazon's", ["amazon"]),
    ],
)
def test_elision_words(chunk: str, words: list[str]) -> None:
    assert [folded for _, _, _, folded in chunk_words(chunk)] == words


def test_a_long_text_is_read_in_its_own_language_only() -> None:
    text = (
        "les salariés ont signé une lettre dans laquelle ils dénoncent la direction "
        "pour avoir été très loin avec cette mesure qui selon eux est injuste"
    )
    french = frozenset(text.split(" "))
    assert stemmers_for("fr", french) == ("french",)
    assert stemmers_for("fr-FR", frozenset({"grèves", "chez", "amazon"})) == (
        "french",
        "english/french",
    )
    assert stemmers_for("en", frozenset({"workers", "strike"})) == ("english", "french/english")
    assert stemmers_for("de", frozenset({"streik"})) == ("german",)
