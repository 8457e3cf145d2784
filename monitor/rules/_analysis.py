"""Text analysis shared by queries and articles: folding, words, elision and stems.

A query word and an article word meet when they fold to the same letters (case and
accents ignored) or share a Snowball stem in the article's language. Everything here is
pure; the only state is a bounded cache of per-word results, because news vocabulary
repeats far more than it varies.

Stems are turned into lookup *keys* so that matching is a dictionary probe. A stem on
its own is too eager for alert rules: French Snowball reduces "Amazonie" to "amazon",
which would make the rule `Amazon` fire on every article about the rainforest. So a word
that *is* its stem (a bare root such as "amazon", "ia", "open") only meets words that
add a light inflection to it (plural, feminine, English -ed/-ing), while two words that
both carry a suffix ("licenciements", "licenciés") meet on the shared stem.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Set as AbstractSet

import Stemmer

# Apostrophes people actually type: ASCII, typographic, modifier letter.
APOSTROPHES = "'’ʼ"
# A run of letters and digits, apostrophes inside included ("l'IA", "aujourd'hui",
# "Amazon's"): one cheap regex pass, the apostrophes being sorted out per distinct chunk
# (see chunk_words), which news vocabulary makes a cache hit nearly every time.
# Possessive quantifiers: a chunk never gives letters back, which spares the regex
# engine its backtracking bookkeeping on every word.
CHUNK_RE = re.compile(rf"[^\W_]++(?:[{APOSTROPHES}][^\W_]++)*+")
_APOSTROPHE_RE = re.compile(rf"[{APOSTROPHES}]")
# French articles and conjunctions that elide before a vowel: "l'", "qu'", "jusqu'".
_ELIDED = frozenset(
    ["c", "d", "j", "l", "m", "n", "s", "t", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu"]
)

# Letters that Unicode decomposition leaves alone but readers treat as plain letters.
_SPECIAL = str.maketrans(
    {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h"}
)

# ISO 639-1 codes of the Snowball stemmers PyStemmer ships.
_ISO = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "st": "sesotho",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
_AVAILABLE = frozenset(Stemmer.algorithms())
STEMMERS: dict[str, str] = {code: name for code, name in _ISO.items() if name in _AVAILABLE}
# An article whose language is unknown is read as both English and French: the project's
# sources are mostly one or the other, and a missed alert costs more than a second stem.
DEFAULT_LANGUAGES: tuple[str, ...] = ("english", "french")

# Endings a bare root may take and still be the same word (see the module docstring).
_LIGHT: dict[str, tuple[str, ...]] = {
    "english": ("s", "es", "d", "ed", "ing", "ings"),
    "french": ("s", "x", "e", "es", "le", "les", "ne", "nes"),
}
_LIGHT_DEFAULT = ("s", "es", "e")
# Snowball is unreliable on very short words ("meta" -> "met" in French, which is also
# "mets"); those only lose a plural "s".
_SHORT = 4

_CACHE_LIMIT = 200_000
_FORMS: dict[str, tuple[str, str]] = {}
_CHUNK_WORDS: dict[str, tuple[tuple[int, int, str, str], ...]] = {}
_DOC_KEYS: dict[str, dict[str, tuple[str, ...]]] = {}
_QUERY_KEYS: dict[str, dict[str, tuple[str, ...]]] = {}
_local = threading.local()


def fold(word: str) -> str:
    """Lower-case ``word`` and strip its accents ("Œuvre" -> "oeuvre", "Straße" -> "strasse")."""
    low = word.casefold()
    if low.isascii():
        return low
    low = unicodedata.normalize("NFKD", low.translate(_SPECIAL))
    return "".join(c for c in low if not unicodedata.combining(c))


def forms(raw: str) -> tuple[str, str]:
    """``(lower, folded)`` of a word as written: case-folded, with and without accents."""
    hit = _FORMS.get(raw)
    if hit is None:
        low = raw.casefold()
        hit = (low, low) if low.isascii() else (unicodedata.normalize("NFC", low), fold(low))
        if len(_FORMS) >= _CACHE_LIMIT:
            _FORMS.clear()
        _FORMS[raw] = hit
    return hit


def normalize(text: str) -> str:
    """NFC form, so that a letter and its accent written as two code points stay one word."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def chunk_words(chunk: str) -> tuple[tuple[int, int, str, str], ...]:
    """The words of a chunk as ``(start, end, lower, folded)``, offsets within the chunk.

    An elided article is left out ("l'IA" is "IA", "qu'aujourd'hui" is "aujourd",
    "hui") and so is an English possessive ("Amazon's" is "Amazon"). No stop word is
    ever dropped: "ai" is French for "have" and English for artificial intelligence.
    """
    hit = _CHUNK_WORDS.get(chunk)
    if hit is not None:
        return hit
    if chunk.isalnum():  # no apostrophe: one word, the common case
        hit = ((0, len(chunk), *forms(chunk)),)
        _remember(chunk, hit)
        return hit
    pieces: list[tuple[int, int]] = []
    at = 0
    for sep in _APOSTROPHE_RE.finditer(chunk):
        pieces.append((at, sep.start()))
        at = sep.end()
    pieces.append((at, len(chunk)))
    found: list[tuple[int, int, str, str]] = []
    last = len(pieces) - 1
    for i, (start, end) in enumerate(pieces):
        piece = chunk[start:end]
        low, folded = forms(piece)
        if i < last and folded in _ELIDED:
            continue
        if i == last and i > 0 and folded == "s":
            continue
        found.append((start, end, low, folded))
    hit = tuple(found)
    _remember(chunk, hit)
    return hit


def _remember(chunk: str, words: tuple[tuple[int, int, str, str], ...]) -> None:
    if len(_CHUNK_WORDS) >= _CACHE_LIMIT:
        _CHUNK_WORDS.clear()
    _CHUNK_WORDS[chunk] = words


def stemmers_for(language: str | None, chunks: AbstractSet[str] = frozenset()) -> tuple[str, ...]:
    """The Snowball stemmers to read an article in ``language`` ("fr", "en-GB", None...).

    Without a language we know, the article's ``chunks`` (its distinct words, lower
    case) decide between French and English when their most common words leave no
    doubt; otherwise both stemmers apply.
    """
    code = primary_language(language)
    name = STEMMERS.get(code)
    if name is not None:
        return (name,)
    if code in _AVAILABLE and code in _ISO.values():
        return (code,)
    french = len(_FRENCH_MARKS.intersection(chunks))
    english = len(_ENGLISH_MARKS.intersection(chunks))
    if french >= _SURE and french >= 3 * english:
        return ("french",)
    if english >= _SURE and english >= 3 * french:
        return ("english",)
    return DEFAULT_LANGUAGES


def _lower_words(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Frequent words of one language that the other hardly uses, to tell an unlabelled
# article's language: counted once each, so at least _SURE different ones must appear.
_FRENCH_MARKS = _lower_words(
    "le la les des du et est une dans pour qui que pas sur aux il elle ils ce cette sont "
    "avec par plus mais ou leur été être selon après depuis très aussi nous vous"
)
_ENGLISH_MARKS = _lower_words(
    "the and of to is that for it with was on are be by this have from at not but they "
    "which were has had been would their will said after also who more than"
)
_SURE = 5


def primary_language(language: str | None) -> str:
    """ "fr-CA" -> "fr"; the empty string when unknown."""
    if not language:
        return ""
    return language.strip().lower().replace("_", "-").split("-", 1)[0]


def _stemmer(lang: str) -> Stemmer.Stemmer:
    # Stemmer objects keep state while they work, so each thread gets its own.
    table: dict[str, Stemmer.Stemmer] | None = getattr(_local, "stemmers", None)
    if table is None:
        table = _local.stemmers = {}
    st = table.get(lang)
    if st is None:
        st = table[lang] = Stemmer.Stemmer(lang)
    return st


def _restore_accent(folded: str) -> str | None:
    # French typed without accents loses the é that Snowball relies on: "licencies" stems
    # to "licenc" where "licenciés" stems to "licenci". Trying the accented participle
    # lets the accentless spelling meet its family too.
    for plain, accented in (("ees", "ées"), ("ee", "ée"), ("es", "és"), ("e", "é")):
        if folded.endswith(plain):
            return folded[: -len(plain)] + accented
    return None


def _stems(lang: str, lower: str, folded: str) -> set[str]:
    if len(folded) <= _SHORT or not folded.isalpha():
        return {folded[:-1] if len(folded) > 2 and folded.endswith("s") else folded}
    st = _stemmer(lang)
    if lower == folded:  # nothing to fold: both orders give the same stem
        found = {st.stemWord(folded)}
    else:
        found = {st.stemWord(folded), fold(st.stemWord(lower))}
    if lang == "french" and lower.isascii():
        restored = _restore_accent(folded)
        if restored is not None:
            found.add(fold(st.stemWord(restored)))
    return found


def _is_light(lang: str, folded: str, stem: str) -> bool:
    if not folded.startswith(stem):
        # English drops a final e before -ing: "vote" / "voting".
        return lang == "english" and stem.endswith("e") and folded in (stem[:-1] + "ing",)
    return folded[len(stem) :] in _LIGHT.get(lang, _LIGHT_DEFAULT)


def _keys(lang: str, lower: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # "B" keys: the word is its own stem; "N": it carries a suffix; "L": the suffix is a
    # light one. A text word offers B or N(+L); a query word looks for B+L when bare
    # (a light inflection of itself) and N(+B when light) otherwise.
    folded = fold(lower)
    offered: list[str] = []
    wanted: list[str] = []
    for stem in sorted(_stems(lang, lower, folded)):
        if folded == stem:
            offered.append("B" + stem)
            wanted += ("B" + stem, "L" + stem)
            continue
        light = _is_light(lang, folded, stem)
        offered.append("N" + stem)
        wanted.append("N" + stem)
        if light:
            offered.append("L" + stem)
            wanted.append("B" + stem)
    return tuple(dict.fromkeys(offered)), tuple(dict.fromkeys(wanted))


def _cached(
    table: dict[str, dict[str, tuple[str, ...]]], which: int, lang: str, lower: str
) -> tuple[str, ...]:
    per_lang = table.get(lang)
    if per_lang is None:
        per_lang = table[lang] = {}
    hit = per_lang.get(lower)
    if hit is None:
        both = _keys(lang, lower)
        hit = both[which]
        # The other side is usually asked for soon after (a query word and the same
        # word in an article): keep it too.
        other = (_QUERY_KEYS if which == 0 else _DOC_KEYS).setdefault(lang, {})
        if len(other) < _CACHE_LIMIT:
            other[lower] = both[1 - which]
        if len(per_lang) >= _CACHE_LIMIT:
            per_lang.clear()
        per_lang[lower] = hit
    return hit


def text_keys(lang: str, lower: str) -> tuple[str, ...]:
    """The stem keys an article word offers under the stemmer ``lang``."""
    per_lang = _DOC_KEYS.get(lang)
    hit = per_lang.get(lower) if per_lang is not None else None
    return hit if hit is not None else _cached(_DOC_KEYS, 0, lang, lower)


def query_keys(lang: str, lower: str) -> tuple[str, ...]:
    """The stem keys a query word looks for under the stemmer ``lang``."""
    return _cached(_QUERY_KEYS, 1, lang, lower)


def analyze_chunks(text: str) -> list[list[tuple[str, str]]]:
    """``(lower, folded)`` of each word of a piece of query text, chunk by chunk."""
    found = []
    for chunk in CHUNK_RE.findall(normalize(text)):
        words = [(low, folded) for _, _, low, folded in chunk_words(chunk)]
        if words:
            found.append(words)
    return found
