"""The snippet an alert shows is the passage holding most of the rule's terms, cut at
sentences, and the alert says which words of the article matched each term."""

from __future__ import annotations

import pytest

from monitor.rules import Document, parse_query

SYNONYMS = [["IA", "AI"], ["licenciements", "layoffs"]]

FILLER = (
    "Le conseil municipal a voté le budget de la piscine après un long débat. "
    "La séance a duré jusqu'au soir et les riverains ont posé leurs questions."
)
# Each term alone early on; all three together only in the eighth paragraph.
PARAGRAPHS = [
    "Amazon a ouvert un nouvel entrepôt près de Lyon, selon la préfecture. " + FILLER,
    FILLER,
    "Un rapport sur l'IA dans les écoles paraît cette semaine. " + FILLER,
    FILLER,
    "Les licenciements dans l'automobile inquiètent la région. " + FILLER,
    FILLER,
    FILLER,
    "Ce matin, la direction d'Amazon a reconnu que l'IA servait à justifier des "
    "licenciements dans ses centres de service client. " + FILLER,
    FILLER,
    FILLER,
]
LONG_ARTICLE = Document(
    title="Revue de presse régionale", text="\n\n".join(PARAGRAPHS), language="fr"
)


def test_the_passage_where_every_term_meets_is_shown_even_in_the_eighth_paragraph() -> None:
    match = parse_query("Amazon IA licenciements").match_document(LONG_ARTICLE)
    assert match is not None
    marked = match.snippet_marked("[", "]")
    # Opens on the sentence where the terms meet, the terms marked as written there.
    assert marked.startswith("… Ce matin, la direction d'[Amazon] a reconnu que l'[IA]"), marked
    assert "[licenciements]" in marked
    shown = {match.snippet[s:e] for s, e in match.highlights}
    assert shown == {"Amazon", "IA", "licenciements"}
    assert "entrepôt" not in match.snippet


def test_a_phrase_counts_once_and_is_shown_whole() -> None:
    text = (
        "Une lettre circule. " + FILLER + "\n\n" + FILLER + "\n\n"
        "Des salariés d'Amazon signent une lettre ouverte. " + FILLER
    )
    match = parse_query('Amazon "lettre ouverte"').match("", text, "fr")
    assert match is not None
    assert "[lettre ouverte]" in match.snippet_marked("[", "]")
    assert match.snippet_marked("[", "]").startswith("… Des salariés d'[Amazon]")


def test_the_snippet_ends_at_a_sentence_when_one_closes_late_enough() -> None:
    match = parse_query("Amazon IA licenciements").match_document(LONG_ARTICLE)
    assert match is not None
    body = match.snippet.removesuffix(" …")
    assert body.endswith("."), match.snippet


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            Document(
                "Amazon employees sign an open letter",
                "They say AI is used to justify the layoffs announced this year.",
                "en",
            ),
            {"Amazon": ("Amazon",), "IA": ("AI",), "licenciements": ("layoffs",)},
        ),
        (
            Document(
                "Des salariés d'Amazon contre l'IA",
                "Les licenciements se suivent: des centaines de licenciés.",
                "fr",
            ),
            {"Amazon": ("Amazon",), "IA": ("IA",), "licenciements": ("licenciements", "licenciés")},
        ),
    ],
    ids=["en-synonyms", "fr-inflections"],
)
def test_matched_words_are_grouped_by_query_term(
    document: Document, words: dict[str, tuple[str, ...]]
) -> None:
    match = parse_query("Amazon IA licenciements", SYNONYMS).match_document(document)
    assert match is not None
    assert dict(match.words) == words
