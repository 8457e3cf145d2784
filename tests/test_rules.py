"""The alert query language as a user meets it: a query, an article, does it fire?

One table of French and English cases covering inflections, elision, accents, phrases,
proximity, negation, fields and the traps a professional would check first.
"""

from __future__ import annotations

import pytest

from monitor.rules import Document, parse_query

FR = "fr"
EN = "en"


# (query, title, body, language, fires?)
CASES = [
    # -- French inflections: the Snowball stem, both ways round --------------------------
    ("licenciements", "", "Vague de licenciements chez le géant", FR, True),
    ("licenciements", "", "Trois cents salariés licenciés cette semaine", FR, True),
    ("licenciements", "", "Un licenciement économique a été notifié", FR, True),
    ("licenciements", "", "La direction veut licencier 300 personnes", FR, True),
    ("licenciements", "", "Les salaries licencies manifestent", FR, True),  # no accents
    ("licencies", "", "Plan de licenciements massif", FR, True),  # accentless query
    ("salarié", "", "Les salariées de l'entrepôt", FR, True),
    ("grève", "", "Les grèves se multiplient", FR, True),
    ("lettre ouverte", "", "Ils publient des lettres ouvertes", FR, True),
    ("artificiel", "", "Une intelligence artificielle générative", FR, True),
    ("économie", "", "Les économies réalisées sont modestes", FR, True),
    ("licenciements", "", "Le gouvernement annonce des embauches", FR, False),
    # -- English inflections -------------------------------------------------------------
    ("layoffs", "", "The layoff hit the logistics teams", EN, True),
    ("layoff", "", "Amazon announces new layoffs", EN, True),
    ("employee", "", "Employees signed the letter", EN, True),
    ("vote", "", "The board voted against it", EN, True),
    ("vote", "", "Voting closes on Friday", EN, True),
    ("open letter", "", "Staff opened a letter from the board", EN, True),
    ("company", "", "Tech companies cut jobs", EN, True),
    ("hack", "", "The servers were hacked overnight", EN, True),
    ("layoffs", "", "The company is hiring again", EN, False),
    # -- elision and apostrophes ---------------------------------------------------------
    ("IA", "", "Ils dénoncent l'IA générative", FR, True),
    ("l'IA", "", "Un rapport sur IA et emploi", FR, True),
    ("Amazon", "", "Les salariés d'Amazon protestent", FR, True),
    ("Amazon", "", "Il dit qu'Amazon a menti", FR, True),
    ("Amazon", "", "Amazon’s workers wrote to the board", EN, True),  # typographic ’
    ("urgence", "", "Déclaration de l’état d’urgence", FR, True),
    ("aujourd'hui", "", "Aujourd'hui la grève continue", FR, True),
    ("hui", "", "Aujourd'hui la grève continue", FR, True),
    # -- case and accents ----------------------------------------------------------------
    ("amazon", "", "AMAZON RECRUTE", FR, True),
    ("economie", "", "L'économie ralentit", FR, True),
    ("ÉLÈVE", "", "Un eleve a été exclu", FR, True),
    ("Quebec", "", "Élections au Québec", FR, True),
    ("oeuvre", "", "Une œuvre majeure", FR, True),
    ("Strasse", "", "Die Straße ist gesperrt", None, True),
    ("Lodz", "", "Une usine à Łódź", FR, True),
    ("Orsted", "", "Ørsted investit dans l'éolien", FR, True),
    # -- phrases: exact word forms, in order, case and accents aside --------------------
    ('"intelligence artificielle"', "", "L'Intelligence Artificielle arrive", FR, True),
    ('"intelligence artificielle"', "", "Des intelligences artificielles", FR, False),
    ('"intelligence artificielle"', "", "L'intelligence n'est pas artificielle", FR, False),
    ('"etat d\'urgence"', "", "Un État d'urgence sanitaire", FR, True),
    ('"licenciements"', "", "Trois cents salariés licenciés", FR, False),
    ('"open letter"', "", "An Open Letter to Amazon", EN, True),
    ('"Amazon Web Serv*"', "", "Amazon Web Services is down", EN, True),
    ("«intelligence artificielle»", "", "L'intelligence artificielle", FR, True),
    # -- proximity -----------------------------------------------------------------------
    ("Amazon NEAR/3 licenciements", "", "Amazon annonce des licenciements", FR, True),
    (
        "Amazon NEAR/3 licenciements",
        "",
        "Amazon a confirmé hier soir aux syndicats de nouveaux licenciements",
        FR,
        False,
    ),
    ("licenciements NEAR/3 Amazon", "", "Amazon annonce des licenciements", FR, True),
    ("licenciements ONEAR/3 Amazon", "", "Amazon annonce des licenciements", FR, False),
    ("Amazon ONEAR/3 licenciements", "", "Amazon annonce des licenciements", FR, True),
    ("Amazon NEAR/0 Web", "", "Amazon Web Services", EN, True),
    ("Amazon NEAR/2 (layoffs OR strike)", "", "Amazon faces a strike", EN, True),
    ("Amazon NEAR/5 layoffs", "Amazon", "Layoffs everywhere", EN, False),  # title ≠ body
    # -- negation and precedence ---------------------------------------------------------
    ("Amazon -grève", "", "Amazon face aux grèves", FR, False),
    ("Amazon -grève", "", "Amazon recrute", FR, True),
    ("Amazon NOT (grève OR manifestation)", "", "Manifestation devant Amazon", FR, False),
    ("Amazon licenciements OR grève", "", "Amazon et la grève", FR, True),
    ("Amazon licenciements OR grève", "", "La grève continue", FR, False),
    ("(Amazon OR Google) IA", "", "Google mise sur l'IA", FR, True),
    ("Amazon AND IA", "", "Amazon investit dans l'IA", FR, True),
    ("Amazon or IA", "", "Amazon investit", FR, False),  # lower-case "or" is a word
    ("-(Amazon NEAR/2 grève) Amazon", "", "Amazon subit une grève", FR, False),
    # -- fields --------------------------------------------------------------------------
    ("title:Amazon", "Amazon licencie", "Rien d'autre", FR, True),
    ("title:Amazon", "Une grève", "Amazon est visé", FR, False),
    ("body:Amazon", "Amazon licencie", "Rien d'autre", FR, False),
    ("title:(Amazon OR Google) licenciements", "Google", "Des licenciements", FR, True),
    ('title:"lettre ouverte"', "Une lettre ouverte", "", FR, True),
    # -- traps ---------------------------------------------------------------------------
    ("Amazon", "", "La forêt d'Amazonie brûle", FR, False),
    ("Amazon", "", "Fires in the Amazonia rainforest", EN, False),
    ("Amazon", "", "La forêt d'Amazonie brûle encore et toujours, disent-ils", None, False),
    ("Amazon*", "", "La forêt d'Amazonie brûle", FR, True),
    ("AI", "", "The AI Act was adopted", EN, True),
    ("AI regulation", "", "Regulation of AI models", EN, True),
    ('"AI Act"', "", "The AI Act was adopted", EN, True),
    ("IA", "", "Une IA conversationnelle", FR, True),
    ("Meta", "", "Les mets sont servis", FR, False),
    ("news", "", "No comment", EN, False),
    ("licenci*", "", "Des salariés licenciés", FR, True),
    ("e-mail", "", "Un e-mail envoyé à tous", FR, True),
    ("COVID-19", "", "Le COVID-19 repart", FR, True),
    ("COVID-19", "", "Le COVID repart en 2019", FR, False),
]


@pytest.mark.parametrize(
    ("query", "title", "body", "language", "fires"),
    CASES,
    ids=[f"{i:02d}:{c[0]}" for i, c in enumerate(CASES)],
)
def test_query_fires_as_a_reader_expects(
    query: str, title: str, body: str, language: str | None, fires: bool
) -> None:
    match = parse_query(query).match(title, body, language)
    assert (match is not None) == fires, f"{query!r} on {title!r} / {body!r}"


def test_the_table_is_large_and_bilingual() -> None:
    assert len(CASES) >= 60
    assert sum(1 for c in CASES if c[3] == FR) >= 25
    assert sum(1 for c in CASES if c[3] == EN) >= 15


ARTICLE = Document(
    title="Amazon supprime des postes",
    text="Les salariés d'Amazon dénoncent les licenciements.",
    language="fr-FR",
    url="https://pixels.lemonde.fr/tech/amazon-licenciements.html",
    site="pixels.lemonde.fr",
    source="lemonde-pixels",
    tags=("tech", "fr"),
)

# (query, fires?) on ARTICLE's metadata
META_CASES = [
    ("Amazon site:lemonde.fr", True),
    ("Amazon site:pixels.lemonde.fr", True),
    ("Amazon site:monde.fr", False),  # a suffix of the host name, not of a label
    ("Amazon site:www.lemonde.fr", True),  # www. is the same site
    ("Amazon site:https://lemonde.fr/", True),
    ("Amazon site:(liberation.fr OR lemonde.fr)", True),
    ("Amazon -site:lemonde.fr", False),
    ("Amazon url:/tech/", True),
    ("Amazon url:culture", False),
    ("Amazon source:lemonde-pixels", True),
    ("Amazon source:LEMONDE-*", True),
    ("Amazon source:liberation", False),
    ("Amazon tag:tech", True),
    ("Amazon tag:sport", False),
    ("Amazon lang:fr", True),
    ("Amazon lang:french", True),
    ("Amazon lang:en", False),
    ("Amazon -lang:en", True),
]


@pytest.mark.parametrize(("query", "fires"), META_CASES, ids=[c[0] for c in META_CASES])
def test_metadata_fields(query: str, fires: bool) -> None:
    assert (parse_query(query).match_document(ARTICLE) is not None) == fires


def test_lang_never_matches_an_article_of_unknown_language() -> None:
    doc = Document("Amazon", "Amazon recrute")
    assert parse_query("Amazon lang:fr").match_document(doc) is None
    assert parse_query("Amazon -lang:fr").match_document(doc) is not None


def test_site_is_taken_from_the_url_when_missing() -> None:
    doc = Document("Amazon", "", url="https://www.lemonde.fr/economie/")
    assert parse_query("Amazon site:lemonde.fr").match_document(doc) is not None
