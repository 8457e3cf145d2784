"""Which stemmers read an article, and the words each reading leaves unmatched.

A *reading* is the name under which an article's words get their stem keys: a Snowball
stemmer's name ("french"), or a stemmer borrowed for a text in another language
("english/french": English stems of a French text, which keeps French stop words). The
vocabulary and the rule index keep one table per reading; ``query_keys`` and
``text_keys`` take one.

Why borrowed readings: a short text (a title, a feed summary) gives the language
detector little to go on, and whether "grèves" meets "grève" must not depend on its
guess. So an English or French text that is short, or whose common words do not confirm
its language, is read with both stemmers; the stop words stay those of the language it
was given.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import Stemmer

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
AVAILABLE = frozenset(Stemmer.algorithms())
STEMMERS: dict[str, str] = {code: name for code, name in _ISO.items() if name in AVAILABLE}
# An article whose language is unknown is read as both English and French: the project's
# sources are mostly one or the other, and a missed alert costs more than a second stem.
DEFAULT_LANGUAGES: tuple[str, ...] = ("english", "french")
_OTHER = {"english": "french", "french": "english"}


def word_set(words: str) -> frozenset[str]:
    """The words of a space-separated list, as a set."""
    return frozenset(words.split())


# Words of a language that a reader never means by a query word, though they are spelt
# like one: French forms of "avoir" and "être" that cannot stand alone ("j'ai", "ils
# ont", "il a eu"), which would otherwise be the acronyms AI, ONT, EU. In a text read in
# that language they offer no stem key, so an unquoted query word never matches them (a
# quoted one still does: it asks for the form as written). The list is short on purpose:
# a stop word that a reader might put in a query ("des", "est" as in "Grand Est", "the")
# must keep matching, because unquoted words of a query must all be found.
STOP_WORDS: dict[str, frozenset[str]] = {
    "french": word_set(
        "ai avons avez ont avais avait avions aviez avaient aie aies aient eu eue eus eut "
        "eusse suis sont etais etait etions etiez etaient"
    ),
}
_NONE: frozenset[str] = frozenset()


# Frequent words of one language that the other hardly uses, to tell an article's
# language: counted once each, so at least _SURE different ones must appear.
_FRENCH_MARKS = word_set(
    "le la les des du et est une dans pour qui que pas sur aux il elle ils ce cette sont "
    "avec par plus mais ou leur été être selon après depuis très aussi nous vous"
)
_ENGLISH_MARKS = word_set(
    "the and of to is that for it with was on are be by this have from at not but they "
    "which were has had been would their will said after also who more than"
)
_SURE = 5


def primary_language(language: str | None) -> str:
    """ "fr-CA" -> "fr"; the empty string when unknown."""
    if not language:
        return ""
    return language.strip().lower().replace("_", "-").split("-", 1)[0]


def stemmer_of(reading: str) -> str:
    """The Snowball stemmer of a reading: "english/french" -> "english"."""
    return reading.split("/", 1)[0]


def stop_words(reading: str) -> frozenset[str]:
    """The folded words a reading offers no stem key for (see STOP_WORDS)."""
    base, _, text_language = reading.partition("/")
    return STOP_WORDS.get(text_language or base, _NONE)


def stemmers_for(language: str | None, chunks: AbstractSet[str] = frozenset()) -> tuple[str, ...]:
    """The readings of an article in ``language`` ("fr", "en-GB", None...).

    Without a language we know, the article's ``chunks`` (its distinct words, lower
    case) decide between French and English when their most common words leave no
    doubt; otherwise both stemmers apply. An English or French article whose words do
    not confirm its language (a short text, most often) is also read with the other
    stemmer, keeping its own stop words.
    """
    code = primary_language(language)
    name = STEMMERS.get(code)
    if name is None and code in AVAILABLE and code in _ISO.values():
        name = code
    if name is not None and name not in _OTHER:
        return (name,)
    french = len(_FRENCH_MARKS.intersection(chunks))
    english = len(_ENGLISH_MARKS.intersection(chunks))
    if name is None:
        if french >= _SURE and french >= 3 * english:
            return ("french",)
        if english >= _SURE and english >= 3 * french:
            return ("english",)
        return DEFAULT_LANGUAGES
    own, other = (french, english) if name == "french" else (english, french)
    if own >= _SURE and own >= 3 * other:
        return (name,)
    return (name, f"{_OTHER[name]}/{name}")
