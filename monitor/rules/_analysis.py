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

import Stemmer

from monitor.rules._languages import DEFAULT_LANGUAGES as DEFAULT_LANGUAGES
from monitor.rules._languages import STEMMERS as STEMMERS
from monitor.rules._languages import primary_language as primary_language
from monitor.rules._languages import stemmer_of, stop_words, word_set
from monitor.rules._languages import stemmers_for as stemmers_for

# Apostrophes people actually type: ASCII, typographic, modifier letter.
APOSTROPHES = "'’ʼ"
# A run of letters and digits, apostrophes inside included ("l'IA", "aujourd'hui",
# "Amazon's"): one cheap regex pass, the apostrophes being sorted out per distinct chunk
# (see chunk_words), which news vocabulary makes a cache hit nearly every time.
# Possessive quantifiers: a chunk never gives letters back, which spares the regex
# engine its backtracking bookkeeping on every word.
CHUNK_RE = re.compile(rf"[^\W_]++(?:[{APOSTROPHES}][^\W_]++)*+")
# The same chunks in a text that is all ASCII (English news, most often), where a
# letter or digit is one of 62 and the apostrophe one: a third faster than the Unicode
# classes (122 against 177 µs for an article of 500 words).
ASCII_CHUNK_RE = re.compile(r"[a-zA-Z0-9]++(?:'[a-zA-Z0-9]++)*+")
_APOSTROPHE_RE = re.compile(rf"[{APOSTROPHES}]")
# French articles and conjunctions that elide before a vowel: "l'", "qu'", "jusqu'".
_ELIDED = frozenset(
    ["c", "d", "j", "l", "m", "n", "s", "t", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu"]
)
# Forms of "avoir" and "être" (folded) that follow an elided pronoun: "j'ai", "n'est",
# "s'était", "c'est", "l'a". Kept as one word with the pronoun, so that the verb is
# never taken for a name or an acronym ("ai", "eu", "as"). "qu'" and "d'" are left out:
# "qu'Amazon", "d'Amazon" elide before names. "l'" only before "avoir": "l'Est" is a noun.
_AVOIR = word_set(
    "ai as a avons avez ont avais avait avions aviez avaient aurai auras aura aurons aurez "
    "auront aurais aurait aurions auriez auraient eu eus eut"
)
_ETRE = word_set(
    "suis es est sommes etes sont etais etait etions etiez etaient serai seras sera serons "
    "serez seront serais serait serions seriez seraient ete"
)
_PRONOUN_HOSTS = _AVOIR | _ETRE | {"y", "en"}
_VERB_HOSTS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("j", "m", "t", "s", "n", "c"), _PRONOUN_HOSTS),
    "l": _AVOIR,
}

# Letters that Unicode decomposition leaves alone but readers treat as plain letters.
_SPECIAL = str.maketrans(
    {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h"}
)


# Endings a bare root may take and still be the same word (see the module docstring).
_LIGHT: dict[str, tuple[str, ...]] = {
    "english": ("s", "es", "d", "ed", "ing", "ings"),
    "french": ("s", "x", "e", "es", "le", "les", "ne", "nes"),
}
_LIGHT_DEFAULT = ("s", "es", "e")
# Snowball is unreliable on very short words ("meta" -> "met" in French, which is also
# "mets"); those only lose a plural "s" or a light ending (see _short_stems).
_SHORT = 4

_CACHE_LIMIT = 200_000
_FORMS: dict[str, tuple[str, str]] = {}
Words = tuple[tuple[int, int, str, str], ...]
_CHUNK_WORDS: dict[str, Words] = {}
_DOC_KEYS: dict[str, dict[str, tuple[str, ...]]] = {}
_QUERY_KEYS: dict[str, dict[str, tuple[str, ...]]] = {}
_local = threading.local()
# What a chunk's words are, and what stem keys an article word offers per stemmer:
# entries of the two caches above, worked out in another process.
WordNotes = tuple[dict[str, Words], dict[str, dict[str, tuple[str, ...]]]]


class _Journal:
    """The cache entries this process made since they were last taken, once asked to
    keep them (a page worker: see note_words)."""

    __slots__ = ("chunks", "keys", "on")

    def __init__(self) -> None:
        self.on = False
        self.chunks: dict[str, Words] = {}
        self.keys: dict[str, dict[str, tuple[str, ...]]] = {}


_journal = _Journal()


def note_words() -> None:
    """From now on, keep the words this process works out, for ``take_notes``.

    A page worker reads each article's words for its search keys; its daemon's matcher
    then reads the same words again, each new one costing it a stemming and a few
    dictionaries on the interpreter lock the event loop needs. The worker hands its
    notes over with each answer instead: every entry is a pure function of the word.
    """
    _journal.on = True


def take_notes() -> WordNotes | None:
    """The words worked out since the last call (None: none, or not noting)."""
    if not (_journal.chunks or _journal.keys):
        return None
    notes = (_journal.chunks, _journal.keys)
    _journal.chunks, _journal.keys = {}, {}
    return notes


def learn_notes(notes: WordNotes) -> None:
    """Add another process's ``take_notes`` to this one's caches (same code, same
    answers: the entries are what this process would work out itself)."""
    chunks, keys = notes
    if len(_CHUNK_WORDS) + len(chunks) > _CACHE_LIMIT:
        _CHUNK_WORDS.clear()
    _CHUNK_WORDS.update(chunks)
    for lang, table in keys.items():
        per_lang = _DOC_KEYS.setdefault(lang, {})
        if len(per_lang) + len(table) > _CACHE_LIMIT:
            per_lang.clear()
        per_lang.update(table)


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


def chunk_words(chunk: str) -> Words:
    """The words of a chunk as ``(start, end, lower, folded)``, offsets within the chunk.

    An elided article is left out ("l'IA" is "IA", "d'Amazon" is "Amazon",
    "qu'aujourd'hui" is "aujourd", "hui") and so is an English possessive ("Amazon's"
    is "Amazon"). An elided pronoun before a form of "avoir" or "être" stays one word
    with it ("j'ai", "n'est", "l'a"): that "ai" is a verb, not the term AI.
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
    hit = tuple(_words_of_pieces(chunk, pieces))
    _remember(chunk, hit)
    return hit


def _words_of_pieces(chunk: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int, str, str]]:
    found: list[tuple[int, int, str, str]] = []
    last = len(pieces) - 1
    i = 0
    while i <= last:
        start, end = pieces[i]
        low, folded = forms(chunk[start:end])
        if i < last and folded in _ELIDED:
            host_start, host_end = pieces[i + 1]
            host_low, host_folded = forms(chunk[host_start:host_end])
            if host_folded in _VERB_HOSTS.get(folded, ()):
                # One apostrophe, whichever was typed: "j’ai" and "j'ai" are one word.
                found.append((start, host_end, f"{low}'{host_low}", f"{folded}'{host_folded}"))
                i += 2
                continue
            i += 1
            continue
        if not (i == last and i > 0 and folded == "s"):
            found.append((start, end, low, folded))
        i += 1
    return found


def _remember(chunk: str, words: Words) -> None:
    if len(_CHUNK_WORDS) >= _CACHE_LIMIT:
        _CHUNK_WORDS.clear()
    _CHUNK_WORDS[chunk] = words
    if _journal.on:
        if len(_journal.chunks) >= _CACHE_LIMIT:  # never taken: keep it bounded
            _journal.chunks.clear()
        _journal.chunks[chunk] = words


def _stemmer(lang: str) -> Stemmer.Stemmer:
    # Stemmer objects keep state while they work, so each thread gets its own.
    table: dict[str, Stemmer.Stemmer] | None = getattr(_local, "stemmers", None)
    if table is None:
        table = _local.stemmers = {}
    st = table.get(lang)
    if st is None:
        st = table[lang] = Stemmer.Stemmer(stemmer_of(lang))
        # Its own cache off: the words' keys are cached here (_DOC_KEYS, _QUERY_KEYS),
        # so it only ever sees words new to us, and keeping them cost more than the
        # stemming (2.2 against 0.86 µs a word never seen).
        st.maxCacheSize = 0
    return st


def _restore_accent(folded: str) -> str | None:
    # French typed without accents loses the é that Snowball relies on: "licencies" stems
    # to "licenc" where "licenciés" stems to "licenci". Trying the accented participle
    # lets the accentless spelling meet its family too.
    for plain, accented in (("ees", "ées"), ("ee", "ée"), ("es", "és"), ("e", "é")):
        if folded.endswith(plain):
            return folded[: -len(plain)] + accented
    return None


def _short_stems(lang: str, folded: str) -> set[str]:
    # A short word loses a plural "s" and whatever light ending its stemmer takes off
    # ("élue" -> "élu", "eaux" -> "eau"), never more: "meta" is not "met" ("mets").
    found = {folded[:-1] if len(folded) > 2 and folded.endswith("s") else folded}
    if not folded.isalpha():
        return found
    base = stemmer_of(lang)
    stem = _stemmer(lang).stemWord(folded)
    light = _LIGHT.get(base, _LIGHT_DEFAULT)
    if len(stem) >= 2 and folded.startswith(stem) and folded[len(stem) :] in light:
        found.add(stem)
    if base == "french" and len(folded) > 3 and folded.endswith(("eux", "aux")):
        found.add(folded[:-1])  # "jeux", "feux": Snowball leaves these plurals alone
    return found


def _stems(lang: str, lower: str, folded: str) -> set[str]:
    if len(folded) <= _SHORT or not folded.isalpha():
        return _short_stems(lang, folded)
    st = _stemmer(lang)
    if lower == folded:  # nothing to fold: both orders give the same stem
        found = {st.stemWord(folded)}
    else:
        found = {st.stemWord(folded), fold(st.stemWord(lower))}
    if stemmer_of(lang) == "french" and lower.isascii():
        restored = _restore_accent(folded)
        if restored is not None:
            found.add(fold(st.stemWord(restored)))
    return found


def _is_light(lang: str, folded: str, stem: str) -> bool:
    base = stemmer_of(lang)
    if not folded.startswith(stem):
        # English drops a final e before -ing: "vote" / "voting"; French "-al" words
        # have their plural in "-aux": "cheval" / "chevaux", "journal" / "journaux".
        if base == "english":
            return stem.endswith("e") and folded == stem[:-1] + "ing"
        return base == "french" and stem.endswith("al") and folded == stem[:-1] + "ux"
    return folded[len(stem) :] in _LIGHT.get(base, _LIGHT_DEFAULT)


def _keys(lang: str, lower: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # "B" keys: the word is its own stem; "N": it carries a suffix; "L": the suffix is a
    # light one. A text word offers B or N(+L); a query word looks for B+L when bare
    # (a light inflection of itself) and N(+B when light) otherwise.
    folded = fold(lower)
    offered: list[str] = []
    wanted: list[str] = []
    if folded in stop_words(lang):
        # A stop word of the text's language offers nothing ("ai" in French is a verb),
        # but as a query word it still looks for its own keys, to match in other texts.
        return (), ("B" + folded, "L" + folded)
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
        if _journal.on:
            noted = _journal.keys.setdefault(lang, {})
            if len(noted) >= _CACHE_LIMIT:
                noted.clear()
            noted[lower] = both[0]  # what an article word offers: _DOC_KEYS' entry
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
