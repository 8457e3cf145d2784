"""The article record that extraction hands to the rest of the pipeline.

``extract_article`` returns an ``Article``; the store keeps its fields, rules read its
``title`` and ``text``, and ``monitor extract --json`` prints ``article_to_dict`` of it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Article:
    """An article's body and metadata, as far as the page tells them."""

    title: str | None
    text: str
    authors: tuple[str, ...]
    published: datetime | None
    modified: datetime | None
    language: str | None
    canonical_url: str | None
    site_name: str | None
    image: str | None
    description: str | None
    quality: str
    # The page nested elements deeper than any real page: the deepest were read as
    # plain text (see _bounds).
    flattened: bool = False
    # Where ``text`` came from: ``dom`` (the page as served), ``json-ld`` (its
    # ``articleBody``), ``next-data`` or ``json-state`` (the state a script builds the
    # page from), ``browser`` (the page after Chromium ran its scripts).
    body_source: str = "dom"


def article_to_dict(article: Article) -> dict[str, object]:
    """Return ``article`` as JSON-ready values: dates in ISO 8601, authors as a list."""
    out: dict[str, object] = {}
    for field in fields(article):
        value = getattr(article, field.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[field.name] = value
    return out
