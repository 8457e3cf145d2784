"""What a rule reads (``Document``) and what it reports when it fires (``Match``).

Both are frozen: the pipeline hands a ``Match`` on to the outbox, email and webhook
without anyone being able to change what matched on the way.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


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


@dataclass(frozen=True, slots=True)
class Match:
    """Why a rule fired: the terms that matched, where, and a snippet that shows them."""

    terms: tuple[str, ...]
    fields: Mapping[str, tuple[str, ...]]
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per term (as written in the query), the article's words that matched it, as
    written in the article: ``{"IA": ("AI",), "licenciements": ("layoffs",)}``."""

    def snippet_marked(self, open: str = "**", close: str = "**") -> str:
        """The snippet with each match wrapped in ``open``/``close`` (Markdown bold by default)."""
        return self._render(open, close, lambda part: part)

    def snippet_html(self) -> str:
        """The snippet as HTML: text escaped, each match in ``<mark>``."""
        return self._render("<mark>", "</mark>", html.escape)

    def _render(self, open: str, close: str, escape: Callable[[str], str]) -> str:
        out: list[str] = []
        at = 0
        for start, end in self.highlights:
            out += (escape(self.snippet[at:start]), open, escape(self.snippet[start:end]), close)
            at = end
        out.append(escape(self.snippet[at:]))
        return "".join(out)
