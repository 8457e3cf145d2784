"""Query text -> tokens, each with its offset so errors can point at the culprit.

Operators are upper case (``OR``, ``AND``, ``NOT``), as in Google's search box, so a
lower-case "or" stays a word; ``NEAR/n`` is accepted in any case because no one
searches for the string "near/5".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.errors import QueryError

TEXT_FIELDS = ("title", "body")
META_FIELDS = ("url", "site", "source", "tag", "lang")
FIELDS = TEXT_FIELDS + META_FIELDS
# Opening quote -> the closing quotes it accepts (people paste French and curly quotes).
QUOTES = {'"': '"', "“": '”"', "”": '”"', "«": "»", "„": '“"'}
_STOP = frozenset("()»") | frozenset(QUOTES)
_NEAR = re.compile(r"(O?NEAR)(?:/(.*))?\Z", re.IGNORECASE)
_FIELD = re.compile(r"([A-Za-z]+):(.*)\Z", re.DOTALL)
# Runs the tokenizer skips or takes whole, found by the regex engine rather than a
# Python loop per character (the lexer was a sixth of parsing 100k rules). ``\s`` is
# what str.isspace() calls white space.
_BLANKS = re.compile(r"\s+")
_RUN = re.compile("[^\\s" + re.escape("".join(sorted(_STOP))) + "]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical unit. ``kind`` is WORD, PHRASE, FIELD, LPAREN, RPAREN, OR, AND, NOT,
    MINUS, NEAR, ONEAR or EOF; ``distance`` is NEAR's n."""

    kind: str
    text: str
    pos: int
    end: int
    distance: int = 0


def fail(query: str, pos: int, problem: str) -> QueryError:
    """A QueryError that says what was wrong, where (1-based column) and shows the spot."""
    shown = query if len(query) <= 80 else query[max(0, pos - 40) : pos + 40]
    return QueryError(f"{problem} (column {pos + 1} of {shown!r})", query=query, position=pos)


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens, ending with an EOF token."""
    out: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i = _end(_BLANKS.match(query, i))
        elif ch in "()":
            out.append(Token("LPAREN" if ch == "(" else "RPAREN", ch, i, i + 1))
            i += 1
        elif ch in QUOTES:
            i = _phrase(query, i, out)
        elif ch == "-" and i + 1 < n and (query[i + 1] in "(" or query[i + 1] in QUOTES):
            out.append(Token("MINUS", "-", i, i + 1))  # -(group), -"phrase"
            i += 1
        elif ch == "»":
            raise fail(query, i, f"unexpected {ch!r}: no opening quote before it")
        else:
            j = _end(_RUN.match(query, i))  # ch is neither space nor in _STOP
            _word(query, query[i:j], i, out)
            i = j
    out.append(Token("EOF", "", n, n))
    return out


def _end(match: re.Match[str] | None) -> int:
    assert match is not None  # the caller saw a character the pattern takes
    return match.end()


def _phrase(query: str, start: int, out: list[Token]) -> int:
    closers = QUOTES[query[start]]
    end = min((k for k in (query.find(c, start + 1) for c in closers) if k >= 0), default=-1)
    if end < 0:
        raise fail(query, start, f"unclosed quote: expected {closers[0]!r} to end this phrase")
    out.append(Token("PHRASE", query[start + 1 : end], start, end + 1))
    return end + 1


def _word(query: str, word: str, pos: int, out: list[Token]) -> None:
    # A loop, not recursion: "-" and "field:" prefixes may repeat a thousand times.
    while True:
        rest = _one_word(query, word, pos, out)
        if rest is None:
            return
        word, pos = rest


def _one_word(query: str, word: str, pos: int, out: list[Token]) -> tuple[str, int] | None:
    """Tokenize the front of ``word``; what is left to tokenize, if anything."""
    if word in ("OR", "AND", "NOT"):
        out.append(Token(word, word, pos, pos + len(word)))
        return None
    near = _NEAR.match(word)
    if near:
        kind = near.group(1).upper()
        distance = near.group(2)
        if distance is None or not distance.isdigit() or not distance.isascii():
            raise fail(query, pos, f"{kind} needs a number of words: write {kind}/5")
        out.append(Token(kind, word, pos, pos + len(word), int(distance)))
        return None
    if word.startswith("-"):
        if len(word) == 1:
            raise fail(query, pos, "expected a term right after '-' (no space)")
        out.append(Token("MINUS", "-", pos, pos + 1))
        return word[1:], pos + 1
    field = _FIELD.match(word)
    if field and (field.group(1).lower() in FIELDS or not field.group(2).startswith("/")):
        # "https://..." is text to search for, not a field.
        name = field.group(1).lower()
        if name not in FIELDS:
            raise fail(
                query,
                pos,
                f"unknown field {field.group(1) + ':'!r}: expected one of "
                + ", ".join(f + ":" for f in FIELDS)
                + ' (put the text in "quotes" to search for it)',
            )
        at = pos + len(field.group(1)) + 1
        out.append(Token("FIELD", name, pos, at))
        rest = field.group(2)
        if not rest:
            return None
        if name in META_FIELDS:
            out.append(Token("WORD", rest, at, at + len(rest)))
            return None
        return rest, at
    out.append(Token("WORD", word, pos, pos + len(word)))
    return None
