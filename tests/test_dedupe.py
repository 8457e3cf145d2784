"""Tests for monitor.dedupe: canonical URLs, fingerprints, MinHash stories, the index."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dedupe import (
    Signature,
    StoryIndex,
    body_fingerprint,
    canonical_url,
    pick_canonical,
    same_story,
    signature,
    url_key,
)
from monitor.dedupe._fingerprint import content_words
from monitor.dedupe._minhash import shingle_hashes

# --- canonical URLs -----------------------------------------------------------------------

CANONICAL = [
    # scheme and host case, default ports, fragments, trailing slash
    ("HTTPS://WWW.Example.COM/News/Story", "https://example.com/News/Story"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com/a#comments", "https://example.com/a"),
    ("https://example.com/a/", "https://example.com/a"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/", "https://example.com/"),
    ("https://example.com./a", "https://example.com/a"),
    ("  https://example.com/a  ", "https://example.com/a"),
    ("https://user:secret@example.com/a", "https://example.com/a"),
    # query: sorted, tracking parameters dropped, meaningful ones kept
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    (
        "https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x",
        "https://example.com/a",
    ),
    ("https://example.com/a?UTM_SOURCE=rss&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?fbclid=IwAR0x&gclid=Cj0K", "https://example.com/a"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&page=3", "https://example.com/a?page=3"),
    ("https://www.lemonde.fr/a.html?xtor=RSS-3208", "https://lemonde.fr/a.html"),
    ("https://example.fr/a?at_medium=rss&at_campaign=flux&at_xt=1", "https://example.fr/a"),
    ("https://example.com/a?msclkid=1&yclid=2&_ga=3&igshid=4", "https://example.com/a"),
    ("https://example.com/a?ref=homepage", "https://example.com/a?ref=homepage"),
    ("https://example.com/search?q=a+b", "https://example.com/search?q=a%20b"),
    ("https://example.com/a?", "https://example.com/a"),
    ("https://example.com/a?flag", "https://example.com/a?flag="),
    ("https://example.com/a?output=json", "https://example.com/a?output=json"),
    # AMP renderings
    (
        "https://amp.theguardian.com/world/2024/nov/18/story",
        "https://theguardian.com/world/2024/nov/18/story",
    ),
    ("https://www.example.com/amp/2024/11/story/", "https://example.com/2024/11/story"),
    ("https://example.com/2024/11/story/amp/", "https://example.com/2024/11/story"),
    ("https://example.com/2024/11/story/amp", "https://example.com/2024/11/story"),
    ("https://example.com/news/story.amp", "https://example.com/news/story"),
    ("https://example.com/news/story.amp.html", "https://example.com/news/story.html"),
    ("https://example.com/news/story?outputType=amp", "https://example.com/news/story"),
    ("https://example.com/news/story?amp=1", "https://example.com/news/story"),
    ("https://example.com/news/story?amp", "https://example.com/news/story"),
    (
        "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/story.amp.html",
        "https://example.com/news/story.html",
    ),
    (
        "https://www.google.com/amp/s/www.example.com/news/story/amp",
        "https://example.com/news/story",
    ),
    ("https://example.com/amplifier-review", "https://example.com/amplifier-review"),
    ("https://example.com/news/examples.ampere", "https://example.com/news/examples.ampere"),
    # mobile and www hosts
    ("https://m.example.com/a", "https://example.com/a"),
    ("https://mobile.example.com/a", "https://example.com/a"),
    ("https://www.m.example.co.uk/a", "https://example.co.uk/a"),
    ("https://m.example/a", "https://m.example/a"),
    ("https://news.example.com/a", "https://news.example.com/a"),
    # paths: dot segments, escapes, case kept
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/%7euser/%c3%a9t%C3%A9", "https://example.com/~user/%C3%A9t%C3%A9"),
    ("https://example.com/été", "https://example.com/%C3%A9t%C3%A9"),
    ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
    ("https://example.com/Article/ABC", "https://example.com/Article/ABC"),
    # hosts: IDN, IPv6
    ("https://exämple.com/a", "https://xn--exmple-cua.com/a"),
    ("https://[2001:DB8::1]:8443/a", "https://[2001:db8::1]:8443/a"),
    # old single-page-app routes keep their fragment
    ("https://example.com/#!/story/5", "https://example.com/#!/story/5"),
    # not http(s), or not a URL: left as they are
    ("ftp://example.com/a", "ftp://example.com/a"),
    ("mailto:desk@example.com", "mailto:desk@example.com"),
    ("not a url", "not a url"),
    ("https://example.com:99999/a", "https://example.com:99999/a"),
]


@pytest.mark.parametrize(("raw", "expected"), CANONICAL)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), CANONICAL)
def test_canonical_url_is_idempotent(raw: str, expected: str) -> None:
    assert canonical_url(canonical_url(raw)) == canonical_url(raw)


_SEGMENTS = st.sampled_from(
    ["a", "amp", ".", "..", "", "story.amp", "x.amp.html", "%41b", "%2f", "été", "a b", "AMP", "~u"]
)
_PARAMS = st.sampled_from(["utm_source", "id", "amp", "outputType", "page", "fbclid", "q", "Ref"])
_VALUES = st.sampled_from(["", "1", "amp", "a+b", "%26", "é"])


@given(
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    host=st.sampled_from(["www.example.com", "m.example.com", "EXAMPLE.com.", "amp.www.ex.co.uk"]),
    port=st.sampled_from(["", ":80", ":443", ":8080"]),
    segments=st.lists(_SEGMENTS, max_size=6),
    query=st.lists(st.tuples(_PARAMS, _VALUES), max_size=4),
    fragment=st.sampled_from(["", "#x", "#!/r"]),
)
@settings(max_examples=300, deadline=None, database=None)
def test_canonical_url_is_idempotent_on_generated_urls(
    scheme: str,
    host: str,
    port: str,
    segments: list[str],
    query: list[tuple[str, str]],
    fragment: str,
) -> None:
    url = f"{scheme}://{host}{port}/" + "/".join(segments)
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query)
    once = canonical_url(url + fragment)
    assert canonical_url(once) == once
    assert url_key(once) == url_key(url + fragment)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://example.com/a?id=1", "https://example.com/a?id=2"),
        ("https://example.com/a", "https://example.com/b"),
        ("https://example.com/A", "https://example.com/a"),
        ("https://example.com/a", "https://other.example.com/a"),
        ("https://example.com/a?page=2", "https://example.com/a"),
        ("https://example.com:8080/a", "https://example.com/a"),
    ],
)
def test_different_articles_keep_different_keys(first: str, second: str) -> None:
    assert url_key(first) != url_key(second)


def test_url_key_is_a_hex_digest_shared_by_every_spelling() -> None:
    spellings = [
        "http://www.example.com/news/story/?utm_source=rss#top",
        "https://m.example.com/news/story",
        "https://example.com/news/story/amp",
        "HTTPS://EXAMPLE.COM:443/news/story",
    ]
    keys = {url_key(spelling) for spelling in spellings}
    assert len(keys) == 1
    assert re.fullmatch(r"[0-9a-f]{32}", keys.pop())


@pytest.mark.parametrize(
    ("url", "declared", "expected"),
    [
        (
            "https://www.lemonde.fr/a/b.html?xtor=RSS",
            "/a/b-canonique.html",
            "https://lemonde.fr/a/b-canonique.html",
        ),
        (
            "https://example.com/a?amp=1",
            "https://www.example.com/a-story",
            "https://example.com/a-story",
        ),
        ("https://edition.cnn.com/x", "https://www.cnn.com/2024/x", "https://cnn.com/2024/x"),
        (
            "https://www.bbc.co.uk/news/x",
            "https://www.bbc.co.uk/news/y",
            "https://bbc.co.uk/news/y",
        ),
        # the home page is not an article's canonical URL
        ("https://example.com/a", "https://example.com/", "https://example.com/a"),
        ("https://example.com/a", "https://www.example.com/index.html", "https://example.com/a"),
        # nor is a section front, for an article below it
        (
            "https://example.fr/economie/2024/11/amazon",
            "/economie",
            "https://example.fr/economie/2024/11/amazon",
        ),
        ("https://example.com/a-b?page=2", "/a-b", "https://example.com/a-b"),
        ("https://example.com/x/story-1", "/story-1", "https://example.com/story-1"),
        # another site is not trusted
        ("https://example.com/a", "https://evil.example.net/a", "https://example.com/a"),
        ("https://news.bbc.co.uk/a", "https://other.co.uk/a", "https://news.bbc.co.uk/a"),
        # missing, blank or unusable declarations
        ("https://example.com/a", None, "https://example.com/a"),
        ("https://example.com/a", "  ", "https://example.com/a"),
        ("https://example.com/a", "javascript:alert(1)", "https://example.com/a"),
        ("https://example.com/a", "http://[bad", "https://example.com/a"),
    ],
)
def test_pick_canonical(url: str, declared: str | None, expected: str) -> None:
    assert pick_canonical(url, declared) == expected


# --- exact copies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("L’IA, dit-elle, « coûte » des emplois.", "l'ia dit elle coute des emplois", True),
        ("Jobs  cut\u00a0by AMAZON.\n\nMore later", "jobs cut by amazon more later", True),
        ("Straße", "STRASSE", True),
        ("Jobs cut by Amazon", "Jobs cut by Google", False),
        ("Jobs cut by Amazon", "Jobs cut by Amazon today", False),
    ],
)
def test_body_fingerprint(a: str, b: str, same: bool) -> None:
    assert (body_fingerprint(a) == body_fingerprint(b)) is same
    assert re.fullmatch(r"[0-9a-f]{32}", body_fingerprint(a))


# --- near copies --------------------------------------------------------------------------

WIRE_EN = """\
SEATTLE (Wire) - More than a thousand Amazon employees have signed an open letter asking \
the company to stop using artificial intelligence as a justification for cutting jobs, \
according to organisers of the campaign.

The letter, addressed to chief executive Andy Jassy and published on Monday, says workers \
in logistics, customer service and software teams have watched colleagues lose their \
positions while managers described the cuts as efficiency gains from new AI tools.

"We are not against technology," the signatories wrote. "We are against technology being \
used as a cover story for decisions that were made to please investors."

Amazon announced in October that it would reduce its corporate workforce by about fourteen \
thousand roles, its largest round of layoffs since early 2023. At the time, a senior \
executive said generative AI would allow the company to operate with fewer layers of \
management.

Organisers said the letter had gathered signatures from employees in at least nine \
countries, including warehouse staff in Germany and France who are not directly affected \
by the corporate cuts but fear automation of sorting and packing work.

A spokesperson for Amazon said the company continued to hire in many areas and that the \
reductions reflected a change in priorities rather than the arrival of any single \
technology. The spokesperson declined to say how many of the eliminated roles had been \
replaced by automated systems.

Labour economists say the episode illustrates a wider tension in the technology sector, \
where companies promise productivity gains from artificial intelligence while facing \
questions from staff and regulators about who bears the cost. Several unions said they \
would raise the issue at a European works council meeting scheduled for December.
"""

OTHER_EN = """\
Amazon's plan to trim fourteen thousand corporate jobs has revived an old argument inside \
the company about how far automation should go, and a growing group of engineers is now \
pushing back in public.

In interviews this week, three software developers in Seattle described weekly planning \
meetings in which managers asked teams to list tasks that could be handed to internal AI \
assistants. One said the exercise felt like drafting a list of who would be let go next.

Investors have mostly applauded. Shares rose after the October announcement, and analysts \
at two brokerages raised their price targets, citing lower operating costs in the retail \
and cloud divisions.

Outside the company, the reaction has been cooler. Lawmakers in Washington state asked \
Amazon for data on how many positions were eliminated because of new software, and a \
professor of labour relations said the company had offered "a story about efficiency \
without the numbers to back it".

Amazon has said it continues to hire in many areas. The company did not answer detailed \
questions about its internal tools, and the developers interviewed asked not to be named \
because they were not authorised to speak to the press.
"""

WIRE_FR = """\
PARIS (Dépêche) - Plus d'un millier de salariés d'Amazon ont signé une lettre ouverte \
demandant à l'entreprise de cesser de justifier des licenciements par l'essor de \
l'intelligence artificielle, selon les organisateurs de la mobilisation.

Adressée au directeur général Andy Jassy et rendue publique lundi, la lettre affirme que \
des équipes de logistique, de service client et de développement ont vu partir des \
collègues alors que la direction présentait les suppressions de postes comme des gains \
d'efficacité liés aux nouveaux outils d'IA.

« Nous ne sommes pas contre la technologie », écrivent les signataires. « Nous sommes \
contre son usage comme prétexte à des décisions prises pour satisfaire les actionnaires. »

Amazon a annoncé en octobre la suppression d'environ quatorze mille postes dans ses \
fonctions centrales, la plus importante vague de licenciements du groupe depuis le début \
de l'année 2023. Un dirigeant avait alors expliqué que l'IA générative permettrait de \
fonctionner avec moins d'échelons hiérarchiques.

En France, des syndicats de plusieurs entrepôts ont indiqué qu'ils soutenaient la \
démarche, même si les salariés des sites logistiques ne sont pas directement concernés par \
ce plan. Ils redoutent toutefois une automatisation accrue du tri et de l'emballage.
"""

OTHER_FR = """\
Le plan de suppression de quatorze mille postes chez Amazon continue de faire réagir en \
France, où plusieurs élus demandent au gouvernement des garanties pour les salariés des \
entrepôts de l'Hexagone.

La ministre du Travail a reçu mardi des représentants syndicaux, qui ont dénoncé un manque \
de transparence sur l'usage de l'intelligence artificielle dans l'organisation du travail. \
Selon eux, des logiciels décident déjà de la cadence de préparation des commandes.

Du côté de la direction française, on assure qu'aucun site logistique n'est visé par le \
plan annoncé en octobre, qui concerne d'abord les fonctions administratives aux États-Unis. \
Un porte-parole rappelle que le groupe a recruté plus de deux mille personnes en France \
cette année.

Les économistes interrogés restent prudents. L'un d'eux estime qu'il est encore trop tôt \
pour mesurer l'effet réel de l'IA sur l'emploi dans la distribution, tout en notant que \
les annonces d'économies servent aussi à rassurer les marchés financiers.
"""

CHROME = """\
Advertisement
Share this article: Facebook Twitter LinkedIn Email
Sign up for our morning newsletter and never miss a story.
"""


def _replace(text: str, edits: dict[str, str]) -> str:
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _trim(text: str, share: float) -> str:
    paragraphs = text.split("\n\n")
    return "\n\n".join(paragraphs[: max(1, round(len(paragraphs) * share))])


EN_EDITS = {
    "according to organisers of the campaign": "organisers said on Tuesday",
    "its largest round of layoffs since early 2023": "the biggest cuts in its history",
    "The spokesperson declined to say how many": "The company would not say how many",
}
FR_EDITS = {
    "selon les organisateurs de la mobilisation": "ont indiqué mardi ses initiateurs",
    "la plus importante vague de licenciements du groupe": "un plan social d'une ampleur inédite",
}

SAME_STORY = [
    pytest.param(WIRE_EN, WIRE_EN, True, id="identical"),
    pytest.param(
        WIRE_EN, CHROME + WIRE_EN + "\nRelated: Amazon opens new office", True, id="other-chrome"
    ),
    pytest.param(
        "Amazon staff sign open letter on AI\n\n" + WIRE_EN,
        "Workers say Amazon uses AI as cover for job cuts\n\n" + WIRE_EN,
        True,
        id="changed-headline",
    ),
    pytest.param(WIRE_EN, _replace(WIRE_EN, EN_EDITS), True, id="edited-sentences"),
    pytest.param(WIRE_EN, CHROME + _replace(WIRE_EN, EN_EDITS), True, id="edited-and-chrome"),
    pytest.param(WIRE_EN, _trim(WIRE_EN, 0.5), True, id="trimmed-to-half"),
    pytest.param(WIRE_EN, _trim(WIRE_EN, 0.4), True, id="trimmed-contained"),
    pytest.param(WIRE_EN, WIRE_EN.upper().replace("'", "’"), True, id="case-and-quotes"),
    pytest.param(WIRE_FR, _replace(WIRE_FR, FR_EDITS), True, id="fr-edited"),
    pytest.param(WIRE_FR, WIRE_FR.replace("é", "e").replace("è", "e"), True, id="fr-accents-lost"),
    pytest.param(WIRE_EN, OTHER_EN, False, id="same-topic-other-article"),
    pytest.param(WIRE_FR, OTHER_FR, False, id="fr-same-topic-other-article"),
    pytest.param(WIRE_EN, WIRE_FR, False, id="translation"),
    pytest.param(WIRE_EN, _trim(WIRE_EN, 0.15), False, id="only-the-lede"),
    pytest.param(
        "Subscribe to read this article.", "Subscribe to read this article.", False, id="paywall"
    ),
    pytest.param("", "", False, id="empty"),
]


@pytest.mark.parametrize(("a", "b", "expected"), SAME_STORY)
def test_same_story(a: str, b: str, expected: bool) -> None:
    assert same_story(a, b) is expected
    assert same_story(b, a) is expected


@pytest.mark.parametrize(("a", "b", "expected"), SAME_STORY)
def test_index_agrees_with_same_story(a: str, b: str, expected: bool) -> None:
    index = StoryIndex()
    index.add(1, signature(a), datetime(2024, 11, 18, tzinfo=UTC))
    assert (index.find(signature(b)) == 1) is expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (WIRE_EN, CHROME + WIRE_EN),
        (WIRE_EN, _replace(WIRE_EN, EN_EDITS)),
        (WIRE_EN, _trim(WIRE_EN, 0.6)),
        (WIRE_EN, OTHER_EN),
        (WIRE_FR, OTHER_FR),
        (WIRE_FR, _replace(WIRE_FR, FR_EDITS)),
    ],
)
def test_signature_similarity_estimates_jaccard(a: str, b: str) -> None:
    set_a, set_b = shingle_hashes(content_words(a)), shingle_hashes(content_words(b))
    exact = len(set_a & set_b) / len(set_a | set_b)
    assert abs(signature(a).similarity(signature(b)) - exact) < 0.15


def test_signature_serialises_to_bytes_and_back() -> None:
    sig = signature(WIRE_EN)
    data = sig.to_bytes()
    assert isinstance(data, bytes)
    again = Signature.from_bytes(data)
    assert again == sig and again.similarity(sig) == 1.0
    assert Signature.from_bytes(signature("too short").to_bytes()).usable is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "bytes"),
        (signature(WIRE_EN).to_bytes()[:-1], "bytes"),
        (b"\x09" + signature(WIRE_EN).to_bytes()[1:], "version"),
    ],
)
def test_signature_from_bad_bytes(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Signature.from_bytes(data)


# --- the story index ----------------------------------------------------------------------

T0 = datetime(2024, 11, 18, 12, 0, tzinfo=UTC)
_VOCABULARY = [f"{a}{b}{c}" for a in "bcdfglmnprst" for b in "aeiou" for c in "klmnrstvxz"]


def _article(seed: int, words: int = 150) -> str:
    """A random article of invented words: unrelated to any other seed's."""
    rng = random.Random(seed)
    return " ".join(rng.choice(_VOCABULARY) for _ in range(words))


def _edited(text: str, seed: int, changes: int = 6) -> str:
    rng = random.Random(seed)
    tokens = text.split()
    for position in rng.sample(range(len(tokens)), changes):
        tokens[position] = "edited"
    return " ".join(tokens)


def _quoting(story: str, start: float, share: float, own_seed: int, own_words: int) -> str:
    """A later article: its own reporting around a block quoting ``share`` of ``story``."""
    tokens = story.split()
    size = round(len(tokens) * share)
    at = round((len(tokens) - size) * start)
    own = _article(own_seed, own_words).split()
    half = len(own) // 2
    return " ".join(own[:half] + tokens[at : at + size] + own[half:])


LONG = _article(41, 4000)  # a long read: 4,000 content words


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        # a quarter of it, quoted from the start, middle or end, in less text of its own
        pytest.param(_quoting(LONG, 0.0, 0.25, 42, 300), False, id="quarter-from-start"),
        pytest.param(_quoting(LONG, 0.5, 0.25, 43, 300), False, id="quarter-from-middle"),
        pytest.param(_quoting(LONG, 1.0, 0.25, 44, 600), False, id="quarter-from-end"),
        pytest.param(_quoting(LONG, 0.1, 0.08, 45, 300), False, id="one-paragraph"),
        # copies still join: new headline, cut ending, a few edited words
        pytest.param(
            "Breaking headline " + _edited(" ".join(LONG.split()[:2800]), 46, 20),
            True,
            id="cut-and-edited-copy",
        ),
        pytest.param(" ".join(LONG.split()[:1400]), True, id="first-third-only"),
    ],
)
def test_a_follow_up_quoting_a_long_story_is_a_story_of_its_own(b: str, expected: bool) -> None:
    assert same_story(LONG, b) is expected
    index = StoryIndex()
    index.add(1, signature(LONG), T0)
    assert (index.find(signature(b)) == 1) is expected
    # whichever arrives first
    index = StoryIndex()
    index.add(2, signature(b), T0)
    assert (index.find(signature(LONG)) == 2) is expected


@pytest.mark.parametrize("share", [0.25, 0.1])
def test_a_follow_up_quoting_a_short_story_is_a_story_of_its_own(share: float) -> None:
    story = _article(51, 400)
    later = _quoting(story, 0.3, share, 52, max(60, round(400 * share)))
    assert same_story(story, later) is False
    index = StoryIndex()
    index.add(1, signature(story), T0)
    assert index.find(signature(later)) is None


def test_index_finds_copies_and_only_copies() -> None:
    index = StoryIndex()
    for story in range(300):
        index.add(story, signature(_article(story)), T0 + timedelta(minutes=story))
    assert len(index) == 300
    for story in (0, 17, 299):
        assert index.find(signature(_edited(_article(story), story))) == story
    assert index.find(signature(_article(10_000))) is None


def test_index_prefers_the_closest_story() -> None:
    base = _article(1, 200)
    index = StoryIndex()
    index.add(1, signature(_edited(base, 1, changes=25)), T0)
    index.add(2, signature(_edited(base, 2, changes=5)), T0)
    assert index.find(signature(base)) == 2


def test_ties_go_to_the_most_recent_entry() -> None:
    sig = signature(_article(5))
    index = StoryIndex()
    index.add(7, sig, T0)
    index.add(8, sig, T0 + timedelta(hours=1))
    assert index.find(sig) == 8


def test_short_texts_are_neither_indexed_nor_matched() -> None:
    index = StoryIndex()
    short = signature("Subscribe to continue reading.")
    index.add(1, short, T0)
    assert len(index) == 0 and index.find(short) is None


@pytest.mark.parametrize(
    ("age", "found"),
    [(timedelta(days=6, hours=23), True), (timedelta(days=7, minutes=1), False)],
)
def test_prune_forgets_what_left_the_window(age: timedelta, found: bool) -> None:
    sig = signature(_article(3))
    index = StoryIndex(window_days=7)
    index.add(3, sig, T0)
    index.prune(T0 + age)
    assert (index.find(sig) == 3) is found
    assert len(index) == int(found)


def test_adding_newer_entries_prunes_old_ones_by_itself() -> None:
    index = StoryIndex(window_days=1)
    for hour in range(24 * 5):
        index.add(hour, signature(_article(hour)), T0 + timedelta(hours=hour))
    # Bounded by the window (plus the slack between automatic prunes), not by the run.
    assert 24 <= len(index) <= 26
    assert index.find(signature(_article(0))) is None
    assert index.find(signature(_article(24 * 5 - 1))) == 24 * 5 - 1


def test_entries_older_than_the_window_are_ignored() -> None:
    index = StoryIndex(window_days=2)
    index.add(1, signature(_article(1)), T0)
    index.add(2, signature(_article(2)), T0 - timedelta(days=3))
    assert len(index) == 1 and index.find(signature(_article(2))) is None


def test_growth_and_churn_keep_every_live_entry_findable() -> None:
    index = StoryIndex(window_days=1)
    signatures = {story: signature(_article(story, 60)) for story in range(3000)}
    for story, sig in signatures.items():
        # Three days of arrivals: the tables grow, then tombstones force rebuilds.
        index.add(story, sig, T0 + timedelta(minutes=story * 1.44))
    index.prune(T0 + timedelta(minutes=2999 * 1.44))
    live = [story for story in signatures if story * 1.44 >= 2999 * 1.44 - 24 * 60]
    assert len(index) == len(live)
    assert all(index.find(signatures[story]) == story for story in live)
    assert index.find(signatures[0]) is None


def test_index_rebuilds_from_stored_rows() -> None:
    rows = [
        (story, signature(_article(story)).to_bytes(), T0 + timedelta(hours=story))
        for story in range(50)
    ]
    rebuilt = StoryIndex()
    for story, data, seen in rows:
        rebuilt.add(story, Signature.from_bytes(data), seen)
    assert len(rebuilt) == 50
    assert all(rebuilt.find(signature(_edited(_article(story), 9))) == story for story in range(50))


@pytest.mark.parametrize("window", [0, -1.0, float("nan")])
def test_window_must_be_positive(window: float) -> None:
    with pytest.raises(ValueError, match="window_days"):
        StoryIndex(window_days=window)


def test_naive_datetimes_are_refused() -> None:
    index = StoryIndex()
    with pytest.raises(ValueError, match="aware"):
        index.add(1, signature(_article(1)), datetime(2024, 11, 18))
    with pytest.raises(ValueError, match="aware"):
        index.prune(datetime(2024, 11, 18))
