"""Offline language identification for article bodies.

The page's own declaration (``<html lang>``, ``og:locale``, JSON-LD ``inLanguage``) is
usually right but is sometimes a template default (an English ``lang`` on a French
site), so it is confirmed against the text. The model ships in this file: the most
frequent function words of each Latin-script language and the scripts that identify a
language on their own. Function words make up a third of running text in these
languages, so a few hundred words of body tell them apart reliably without any download.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words that are frequent in one language and rare in the others listed.
# Words shared by several languages ("a", "de", "en", "la", "no") are left out on purpose.
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "the and of to is that it was for on are with as his they be at this have from "
        "or had by but not what all were we when your can said there which their if "
        "will would been has who more could than its them these after also into our"
    ),
    "fr": _words(
        "le les des est et une du dans que qui pour pas sur au avec ce il sont mais "
        "plus par ou nous vous leur ses aux cette été elle ont fait être aussi comme "
        "tout bien où sans entre lui avait même était dont ces très"
    ),
    "de": _words(
        "der die und den das ist nicht mit sich des auf für im dem eine ein auch "
        "es an als nach wie wir aus bei wird oder sind noch zu hat nur vom über "
        "einer werden kann sie ich war schon durch"
    ),
    "es": _words(
        "el los las del que y por una para con es se su al lo como más pero sus "
        "le ya o fue este ha sí porque esta entre cuando muy sin sobre también "
        "hasta hay donde desde todo nos durante están"
    ),
    "it": _words(
        "il di che è per una sono della del gli con non da si nel alla anche come "
        "più ma le ha dei delle degli questo questa nella sul essere tra quando "
        "molto hanno stato già dopo loro"
    ),
    "pt": _words(
        "o os que do da em um para com uma não dos das se na no por mais as como "
        "mas foi ao ele ela são seu sua ou quando muito também já está isso "
        "pelo pela até ser entre depois"
    ),
    "nl": _words(
        "de het een van en is dat op te in zijn met voor niet aan er ook als bij "
        "door maar om nog werd wordt naar dan uit heeft kan hun over zo deze dit "
        "worden geen"
    ),
    "sv": _words(
        "och att det som en är på för med av till den har inte om ett de jag "
        "var men så från eller vid kan efter sig sina också över under"
    ),
}

# Scripts used by (nearly) one language; checked before the word model.
_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
# word -> the languages it votes for, so each word is looked up once.
_VOTES: dict[str, tuple[str, ...]] = {}
for _code, _vocabulary in _STOPWORDS.items():
    for _word in _vocabulary:
        _VOTES[_word] = (*_VOTES.get(_word, ()), _code)
_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")
_NON_LATIN = re.compile(r"[\u0370-\u0fff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W\d_]+")
_SAMPLE_CHARS = 1000
# _WORD's words of Latin-1 text are its runs of letters: bytes.translate turns every
# other character into a space in C, where the pattern costs a few hundred
# instructions a character. The table is built from _WORD itself, so the two agree;
# the punctuation that makes most Western pages' text wider than Latin-1 (curly
# quotes, dashes) is turned into spaces first.
_LATIN1_LETTERS = bytes(code if _WORD.fullmatch(chr(code)) else 32 for code in range(256))
# The same table lower-casing the letters as it goes (each Latin-1 letter's lower
# case is one Latin-1 letter), so the sample need not be lowered first.
_LATIN1_LOWER = bytes(ord(chr(code).lower()) if code != 32 else 32 for code in _LATIN1_LETTERS)
_WIDE_PUNCTUATION = tuple(char for char in "’“”‘–—…•€" if not _WORD.fullmatch(char))
_MIN_HITS = 4


# Compiled once: re's module functions look their pattern up in a cache on each call.
_TAG_SEPARATOR = re.compile(r"[-_]")
_PRIMARY_TAG = re.compile(r"[a-z]{2,3}")


def normalize_language(code: str | None) -> str | None:
    """``fr-FR``, ``fr_CA`` or ``FR`` → ``fr``; None for anything that is not a language tag."""
    if not code:
        return None
    primary = _TAG_SEPARATOR.split(code.strip(), maxsplit=1)[0].lower()
    return primary if _PRIMARY_TAG.fullmatch(primary) else None


def _script_language(sample: str) -> str | None:
    """The language named by the script of a sample that is not Latin-1."""
    others = _NON_LATIN.findall(sample)
    if len(others) < 20:
        return None
    joined = "".join(others)
    for code, pattern in _SCRIPTS:
        if len(pattern.findall(joined)) * 2 >= len(others) or (
            code == "ja" and pattern.search(joined)
        ):
            if code == "ru" and _UKRAINIAN.search(joined):
                return "uk"
            return code
    return None


def _latin1(text: str) -> bytes | None:
    """``text`` as Latin-1 once its wide punctuation is spaces; None when it holds
    other characters."""
    if not text.isascii():
        for char in _WIDE_PUNCTUATION:
            if char in text:  # a C search; str.translate would look each character up
                text = text.replace(char, " ")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _sample_words(sample: str) -> tuple[list[str], bool]:
    """``_WORD.findall(sample.lower())``, by str and bytes methods when the sample is
    Latin-1 once its wide punctuation is spaces (see ``_LATIN1_LETTERS``), and whether
    it is, which rules out every other script's language."""
    raw = _latin1(sample)
    if raw is None:
        return _WORD.findall(sample.lower()), False
    return raw.translate(_LATIN1_LOWER).decode("latin-1").split(), True


def detect_language(text: str, languages: Sequence[str] | None = None) -> str | None:
    """Return the ISO 639-1 code the text is most likely in, or None when unsure.

    ``languages`` limits the answer to those codes, as the config's languages do.
    """
    sample = text[:_SAMPLE_CHARS]
    allowed = {normalize_language(code) for code in languages} if languages else None
    words, latin1 = _sample_words(sample)
    by_script = None if latin1 else _script_language(sample)
    if by_script is not None:
        return by_script if allowed is None or by_script in allowed else None
    counts = dict.fromkeys(_STOPWORDS, 0)
    # Only the words that vote are counted, and both steps run in C (filter calls a
    # C method): a third of a sample's words vote.
    found = Counter(filter(_VOTES.__contains__, words))
    for word, times in found.items():
        for code in _VOTES[word]:
            counts[code] += times
    ranked = sorted(
        ((hits, code) for code, hits in counts.items() if allowed is None or code in allowed),
        reverse=True,
    )
    if not ranked or ranked[0][0] < _MIN_HITS:
        return None
    best_hits, best = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0
    # Short or mixed texts tie often; an unsure answer must not override a declaration.
    return best if best_hits >= 1.5 * runner_up else None


def choose_language(
    declared: Sequence[str | None], text: str, languages: Sequence[str] | None = None
) -> str | None:
    """Combine what the page declares with what the text says.

    The first declaration wins unless the detector is sure of another language; with
    no declaration the detector decides.
    """
    detected = detect_language(text, languages) if text else None
    if detected is not None:
        return detected  # the declarations are read only when the text is unsure
    return next((code for code in map(normalize_language, declared) if code), None)
