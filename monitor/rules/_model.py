"""What a rule reads (``Document``) and what it reports when it fires (``Match``).

Both are read-only: the pipeline hands a ``Match`` on to the outbox, email and webhook
without anyone being able to change what matched on the way.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError, dataclass

Highlights = tuple[tuple[int, int], ...]
Words = Mapping[str, tuple[str, ...]]
# What a deferred Match works out when first read: terms, fields, snippet,
# highlights, words.
Explained = tuple[tuple[str, ...], Mapping[str, tuple[str, ...]], str, Highlights, Words]
_EXPLAINED = ("_terms", "_fields", "_snippet", "_highlights", "_words")


@dataclass(frozen=True, slots=True)
class Document:
    """An article as the rules see it: the title, the extracted body and its metadata."""

    title: str
    text: str
    language: str | None = None
    url: str = ""
    site: str = ""
    source: str = ""
    tags: tuple[str, ...] = ()


class Match:
    """Why a rule fired: the terms that matched, where, and a snippet that shows them.

    Working these out costs more than deciding that the rule matches (the parts that
    matched walked again, a best passage to find, words to walk back to their
    characters), and most matches of a busy index are never shown: a match made by the
    rules works them out the first time one of them is read, then keeps them. What is
    read is the same either way.
    """

    __slots__ = ("_explain", "_fields", "_highlights", "_snippet", "_terms", "_words")

    _terms: tuple[str, ...]
    _fields: Mapping[str, tuple[str, ...]]
    _snippet: str
    _highlights: Highlights
    _words: Words
    _explain: Callable[[], Explained] | None

    def __init__(
        self,
        terms: tuple[str, ...],
        fields: Mapping[str, tuple[str, ...]],
        snippet: str,
        highlights: Highlights,
        words: Words | None = None,
    ) -> None:
        self._keep((terms, fields, snippet, highlights, {} if words is None else words))
        object.__setattr__(self, "_explain", None)

    @classmethod
    def deferred(cls, explain: Callable[[], Explained]) -> Match:
        """A match whose terms, fields, snippet, highlights and words come from
        ``explain()``, called when one of them is first read (thread-safe: ``explain``
        may then run twice, and must answer the same)."""
        match = cls.__new__(cls)
        object.__setattr__(match, "_explain", explain)
        return match

    @property
    def terms(self) -> tuple[str, ...]:
        """The query's terms that matched, as written in the query, in its order."""
        if self._explain is not None:
            self._explained()
        return self._terms

    @property
    def fields(self) -> Mapping[str, tuple[str, ...]]:
        """Per term, where it matched: ``title``, ``body``, or a metadata field."""
        if self._explain is not None:
            self._explained()
        return self._fields

    @property
    def snippet(self) -> str:
        """Plain text around the matches: the best passage of the body, or the title."""
        if self._explain is not None:
            self._explained()
        return self._snippet

    @property
    def highlights(self) -> Highlights:
        """``[start, end)`` spans of ``snippet`` that matched, in reading order."""
        if self._explain is not None:
            self._explained()
        return self._highlights

    @property
    def words(self) -> Words:
        """Per term (as written in the query), the article's words that matched it, as
        written in the article: ``{"IA": ("AI",), "licenciements": ("layoffs",)}``."""
        if self._explain is not None:
            self._explained()
        return self._words

    def _explained(self) -> None:
        explain = self._explain
        if explain is not None:  # else another thread got there first
            self._keep(explain())
            # Cleared last, so a reader seeing None finds the values set; dropped once
            # used, as it holds the article.
            object.__setattr__(self, "_explain", None)

    def _keep(self, explained: Explained) -> None:
        _set = object.__setattr__
        for name, value in zip(_EXPLAINED, explained, strict=True):
            _set(self, name, value)

    def snippet_marked(self, open: str = "**", close: str = "**") -> str:
        """The snippet with each match wrapped in ``open``/``close`` (Markdown bold by default)."""
        return self._render(open, close, lambda part: part)

    def snippet_html(self) -> str:
        """The snippet as HTML: text escaped, each match in ``<mark>``."""
        return self._render("<mark>", "</mark>", html.escape)

    def _render(self, open: str, close: str, escape: Callable[[str], str]) -> str:
        out: list[str] = []
        at = 0
        snippet = self.snippet
        for start, end in self.highlights:
            out += (escape(snippet[at:start]), open, escape(snippet[start:end]), close)
            at = end
        out.append(escape(snippet[at:]))
        return "".join(out)

    def _key(self) -> tuple[object, ...]:
        return (self.terms, self.fields, self.snippet, self.highlights, self.words)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return self._key() == other._key()

    # Unhashable, as the frozen dataclass it replaces was in practice (fields is a dict).
    __hash__ = None  # type: ignore[assignment]

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        return (
            f"Match(terms={self.terms!r}, fields={self.fields!r}, snippet={self.snippet!r},"
            f" highlights={self.highlights!r}, words={self.words!r})"
        )
