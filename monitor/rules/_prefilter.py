"""Search keys: what an article offers the database's index, what a query asks of it.

The archive is searched in two steps. The database's own index (a GIN index on
PostgreSQL, FTS5 on SQLite) finds the articles holding the keys a query cannot match
without; the matcher then decides on those candidates exactly as it decides on a new
article. The first step may let too much through, never too little, so the results are
those of reading every article.

For that, an article offers the keys the matcher itself reads (see _analysis): every
word's folded form ("x" + form) and, for each stemmer the article is read with, every
stem key ``text_keys`` gives ("b"/"n"/"l" + stem: the B/N/L kinds, in lower case
because FTS5 folds ASCII case). A query word asks for its ``query_keys`` under *every*
stemmer, since the query does not know each article's language: a key from a stemmer
the article was not read with only lets a few more candidates through.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from operator import itemgetter

from monitor.rules._analysis import (
    DEFAULT_LANGUAGES,
    STEMMERS,
    chunk_words,
    normalize,
    query_keys,
    stemmers_for,
    text_keys,
)
from monitor.rules._analyzed import cut_chunks
from monitor.rules._matcher import (
    Exact,
    Field,
    Group,
    Near,
    Node,
    Phrase,
    Prefix,
    Unit,
    Word,
)
from monitor.text import EVERYTHING, KeyQuery, KeyTerm, key_all, key_any

# Every stemmer an article can be read with (see stemmers_for): a query word asks for
# its keys under each of them.
ALL_STEMMERS: tuple[str, ...] = tuple(sorted(set(STEMMERS.values()) | set(DEFAULT_LANGUAGES)))
# PostgreSQL refuses a lexeme over 2047 bytes; a longer key is cut, on both sides, to
# this many characters (4 bytes each at most), which can only merge keys, not lose them.
MAX_TOKEN = 255
# An article whose keys would not fit in one tsvector (1 MiB) offers this one key
# instead, which every query accepts: it stays findable, read by the matcher each time.
ANYTHING = "0any"
MAX_KEYS_BYTES = 512 * 1024
_FORM = "x"


def _token(key: str) -> str:
    return key[:MAX_TOKEN]


def _stem_token(key: str) -> str:
    # text_keys/query_keys mark a key's kind with an upper-case B, N or L.
    return _token(key[0].lower() + key[1:])


# lang -> a text word's lower-case form -> its stem tokens, as article_keys stores them.
# An article's words are mostly ones seen before: one lookup instead of text_keys and
# a token per key (a third of article_keys' time before). Bounded like _analysis' own.
_TEXT_TOKENS: dict[str, dict[str, tuple[str, ...]]] = {}
_TOKENS_LIMIT = 200_000
_LOWER, _FOLDED = itemgetter(2), itemgetter(3)


def _text_tokens(lang: str, lows: Iterable[str]) -> list[tuple[str, ...]]:
    table = _TEXT_TOKENS.get(lang)
    if table is None:
        table = _TEXT_TOKENS[lang] = {}
    get = table.get
    found = []
    for low in lows:
        hit = get(low)
        if hit is None:
            if len(table) >= _TOKENS_LIMIT:
                table.clear()
            hit = table[low] = tuple(map(_stem_token, text_keys(lang, low)))
        found.append(hit)
    return found


def article_keys(title: str, text: str, language: str | None) -> str:
    """The keys an article offers, space-separated, as the index stores them.

    The article is cut into words and its stemmers are chosen exactly as the matcher
    does (``Analyzed``): the same chunks, the same words, the same languages.
    """
    # Cut exactly as Analyzed cuts a text, so the keys are those the matcher reads.
    chunks = cut_chunks(normalize(title))[0] + cut_chunks(normalize(text))[0]
    # (start, end, lower, folded) of every word of every distinct chunk, in C loops.
    words = list(chain.from_iterable(map(chunk_words, set(chunks))))
    lows = set(map(_LOWER, words))
    tokens: set[str] = set()
    for lang in stemmers_for(language, frozenset(chunks)):
        tokens.update(*_text_tokens(lang, lows))
    tokens.update([_token(_FORM + folded) for folded in set(map(_FOLDED, words))])
    joined = " ".join(sorted(tokens))
    return ANYTHING if len(joined.encode()) > MAX_KEYS_BYTES else joined


def compile_prefilter(root: Node) -> KeyQuery:
    """The keys an article must hold for ``root`` to have a chance of matching it.

    ``EVERYTHING`` when nothing can be required (a query of fields only, say).
    """
    found = _compile(root)
    if found == EVERYTHING:
        return found
    return key_any((found, KeyTerm(ANYTHING)))


def _compile(node: Node) -> KeyQuery:
    if isinstance(node, Word):
        return key_any(_word_keys(node.lower))
    if isinstance(node, Exact):
        return KeyTerm(_token(_FORM + node.folded))
    if isinstance(node, Unit):  # "aujourd'hui": a chunk holding each of these words
        return key_all(KeyTerm(_token(_FORM + word)) for word in node.folded)
    if isinstance(node, Prefix):
        return KeyTerm(_token(_FORM + node.prefix), prefix=True)
    if isinstance(node, Phrase):  # positions are the matcher's business
        return key_all(_compile(item) for item in node.items)
    if isinstance(node, Near):
        return key_all(_compile(member) for member in node.members)
    if isinstance(node, Field):  # title:/body: — the index does not tell them apart
        return _compile(node.child)
    if isinstance(node, Group):  # Synonyms too: an OR group
        parts = (_compile(child) for child in node.children)
        return key_any(parts) if node.any_of else key_all(parts)
    # NOT, and metadata fields (site:, source:, lang:…): an absent word or a column the
    # index does not hold says nothing about which keys are present.
    return EVERYTHING


def _word_keys(lower: str) -> Iterable[KeyTerm]:
    tokens = {_stem_token(key) for lang in ALL_STEMMERS for key in query_keys(lang, lower)}
    return (KeyTerm(token) for token in sorted(tokens))
