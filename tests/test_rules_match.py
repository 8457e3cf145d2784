"""What a firing rule reports: the terms, where they matched, and a highlighted snippet.

Centred on the alert the project was built for, ``Amazon IA licenciements``, against an
open letter by Amazon employees reported in French and in English.
"""

from __future__ import annotations

import html
import re

import pytest

from monitor.rules import Document, Match, parse_query

FRENCH_LETTER = Document(
    title="Des salariés d'Amazon signent une lettre ouverte contre l'IA",
    text="""Plus de mille employés d'Amazon ont rendu publique mardi une lettre ouverte
adressée à la direction du groupe.

Les signataires y dénoncent le recours massif à l'IA générative, présentée en interne
comme un gain de productivité, et qu'ils accusent de servir de prétexte aux
licenciements annoncés depuis le début de l'année. « On nous demande d'entraîner les
outils qui nous remplacent », écrit une ingénieure de Seattle.

Selon les auteurs, plusieurs centaines de collègues ont déjà été licenciés dans les
équipes de service client et de logistique. Ils réclament un moratoire sur les
suppressions de postes et un droit de regard des salariés sur les déploiements
d'intelligence artificielle.

Interrogée, l'entreprise affirme que ces décisions « ne sont pas liées » à ses
investissements dans l'IA et rappelle qu'elle continue de recruter.""",
    language="fr",
    url="https://www.example.fr/economie/amazon-lettre-ouverte-ia.html",
    site="example.fr",
    source="example-eco",
    tags=("eco", "fr"),
)

ENGLISH_LETTER = Document(
    title="Amazon employees sign open letter against AI-driven job cuts",
    text="""More than a thousand Amazon employees published an open letter on Tuesday
addressed to the company's leadership.

The signatories criticise the heavy use of generative AI, sold internally as a
productivity gain, which they say is being used to justify the layoffs announced since
the start of the year. "We are asked to train the tools that replace us," writes an
engineer based in Seattle.

According to the authors, several hundred colleagues have already been laid off in
customer service and logistics. They call for a moratorium on job cuts and for staff
to have a say in how artificial intelligence is rolled out.

Asked for comment, the company said the decisions were "not related" to its AI
investments and that it was still hiring.""",
    language="en",
    url="https://www.example.com/tech/amazon-open-letter-ai",
    site="example.com",
    source="example-tech",
    tags=("tech", "en"),
)

SYNONYMS = [["IA", "AI"], ["licenciements", "layoffs"]]


def test_the_french_open_letter_fires() -> None:
    match = parse_query("Amazon IA licenciements").match_document(FRENCH_LETTER)
    assert match is not None
    assert match.terms == ("Amazon", "IA", "licenciements")
    assert match.fields["Amazon"] == ("title", "body")
    assert match.fields["IA"] == ("title", "body")
    assert match.fields["licenciements"] == ("body",)


def test_the_english_letter_needs_the_synonym_groups() -> None:
    query = "Amazon IA licenciements"
    assert parse_query(query).match_document(ENGLISH_LETTER) is None
    match = parse_query(query, SYNONYMS).match_document(ENGLISH_LETTER)
    assert match is not None
    # Reported as the user wrote them, whichever synonym was found.
    assert match.terms == ("Amazon", "IA", "licenciements")
    assert match.fields["licenciements"] == ("body",)
    # The snippet opens on the first matches; "layoffs" comes a paragraph later.
    marked = match.snippet_marked("[", "]")
    assert marked.startswith("More than a thousand [Amazon] employees")
    assert "[AI]" in marked


def test_synonyms_still_fire_in_french() -> None:
    match = parse_query("Amazon IA licenciements", SYNONYMS).match_document(FRENCH_LETTER)
    assert match is not None
    assert match.terms == ("Amazon", "IA", "licenciements")


def test_a_synonym_group_is_matched_by_stem_and_multiword_members() -> None:
    groups = [["IA", "AI", "intelligence artificielle"], ["licenciements", "layoffs"]]
    # "licenciement" (singular) belongs to the group listing "licenciements".
    query = parse_query("Amazon licenciement", groups)
    assert query.match_document(ENGLISH_LETTER) is not None
    # A multi-word member is a phrase, inflections allowed.
    text = "Amazon mise sur les intelligences artificielles"
    assert parse_query("Amazon IA", groups).match("", text, "fr") is not None
    assert parse_query("Amazon IA", groups).match("", "Amazon mise sur l'artificiel", "fr") is None


def test_the_snippet_shows_the_first_matches_highlighted() -> None:
    match = parse_query("Amazon IA licenciements").match_document(FRENCH_LETTER)
    assert match is not None
    assert 150 <= len(match.snippet) <= 300
    assert "\n" not in match.snippet
    assert "  " not in match.snippet
    shown = [match.snippet[s:e] for s, e in match.highlights]
    assert "Amazon" in shown
    assert "IA" in shown
    assert shown == sorted(shown, key=match.snippet.index)  # in reading order
    # Each highlight is a whole word the query asked for, elided article excluded.
    for word in shown:
        assert re.fullmatch(r"Amazon|IA|licenciements|licenciés", word), word


def test_snippet_marked_and_html() -> None:
    match = Match(
        terms=("IA",),
        fields={"IA": ("body",)},
        snippet="l'IA <b> & l'IA",
        highlights=((2, 4), (13, 15)),
    )
    assert match.snippet_marked() == "l'**IA** <b> & l'**IA**"
    assert match.snippet_marked("<<", ">>") == "l'<<IA>> <b> & l'<<IA>>"
    assert match.snippet_html() == ("l&#x27;<mark>IA</mark> &lt;b&gt; &amp; l&#x27;<mark>IA</mark>")
    assert html.unescape(re.sub("</?mark>", "", match.snippet_html())) == match.snippet


def test_a_title_only_match_shows_the_title_then_the_body() -> None:
    match = parse_query('title:"lettre ouverte"').match_document(FRENCH_LETTER)
    assert match is not None
    assert match.fields == {'"lettre ouverte"': ("title",)}
    assert match.snippet.startswith(FRENCH_LETTER.title)
    assert match.snippet_marked().startswith(
        "Des salariés d'Amazon signent une **lettre ouverte** contre"
    )
    assert "Plus de mille employés" in match.snippet


def test_a_long_body_gives_a_bounded_snippet_starting_near_the_first_match() -> None:
    filler = "Un paragraphe sans rapport avec le sujet, répété pour allonger le texte. "
    text = filler * 30 + "Puis Amazon annonce des licenciements massifs. " + filler * 30
    match = parse_query("Amazon licenciements").match("", text, "fr")
    assert match is not None
    assert 180 <= len(match.snippet) <= 300
    assert match.snippet.startswith("… ")
    # Cut at sentence boundaries: it opens on the match's sentence and ends on a full stop.
    assert match.snippet.endswith("texte. …")
    assert match.snippet_marked().startswith("… Puis **Amazon** annonce des **licenciements**")


def test_near_highlights_only_the_words_that_are_near() -> None:
    text = "Amazon recrute. Rien à voir. Plus loin, Amazon annonce des licenciements."
    match = parse_query("Amazon NEAR/2 licenciements").match("", text, "fr")
    assert match is not None
    assert match.snippet_marked() == (
        "Amazon recrute. Rien à voir. Plus loin, **Amazon** annonce des **licenciements**."
    )


def test_metadata_terms_are_reported_without_highlight() -> None:
    match = parse_query("Amazon site:example.fr tag:eco").match_document(FRENCH_LETTER)
    assert match is not None
    assert match.fields["site:example.fr"] == ("site",)
    assert match.fields["tag:eco"] == ("tag",)


def test_a_match_is_frozen() -> None:
    match = parse_query("Amazon").match_document(FRENCH_LETTER)
    assert match is not None
    with pytest.raises(AttributeError):
        match.snippet = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("(Amazon OR Google) IA", ("Amazon", "IA")),
        ('"lettre ouverte" -grève', ('"lettre ouverte"',)),
        ("Amaz* NEAR/3 employés", ("Amaz*", "employés")),
    ],
)
def test_only_the_terms_that_matched_are_reported(query: str, terms: tuple[str, ...]) -> None:
    match = parse_query(query).match_document(FRENCH_LETTER)
    assert match is not None
    assert match.terms == terms
