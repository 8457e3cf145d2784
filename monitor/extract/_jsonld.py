"""Schema.org JSON-LD: the most reliable metadata a news page carries.

Publishers fill it for search engines, so headline, dates with offsets, authors and
language are usually exact. It comes as one object, a list, or an ``@graph`` whose
nodes point at each other by ``@id``; this module flattens all three and picks the
article node.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

_ARTICLE_TYPES = frozenset(
    {
        "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
        "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "blogposting",
        "socialmediaposting", "liveblogposting", "techarticle", "scholarlyarticle",
        "report", "webpage", "itempage", "medicalwebpage", "posting",
    }
)  # fmt: skip
# json.loads(raw, strict=False) builds a decoder (and its scanner) on every call.
_DECODER = json.JSONDecoder(strict=False)
# A WebPage node is a weaker match than a real article node: used only when alone.
_WEAK_TYPES = frozenset({"webpage", "itempage", "medicalwebpage"})


@dataclass(frozen=True, slots=True)
class JsonLd:
    """The article node's fields we use, as plain strings."""

    headline: str | None = None
    published: str | None = None
    modified: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None
    publisher: str | None = None
    image: str | None = None
    description: str | None = None
    url: str | None = None
    free: bool | None = None
    # ``articleBody`` (or ``text``): the whole article on pages whose visible body a
    # script writes in, kept raw (it may be HTML); _state reduces it to text.
    body: str | None = None


def _nodes(value: object) -> Iterator[dict[str, object]]:
    # Iterative: a page's JSON can nest as deep as the JSON parser allows.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            yield item
            graph = item.get("@graph")
            if graph is not None:
                stack.append(graph)


def _types(node: dict[str, object]) -> set[str]:
    raw = node.get("@type")
    items = raw if isinstance(raw, list) else [raw]
    return {item.lower() for item in items if isinstance(item, str)}


def _text(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("url") or value.get("@id")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _names(value: object, by_id: dict[str, dict[str, object]]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, dict) and "name" not in item and isinstance(item.get("@id"), str):
            item = by_id.get(str(item["@id"]), item)
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, list):
            name = name[0] if name else None
        if isinstance(name, str) and name.strip() and not name.startswith("http"):
            names.append(name.strip())
    return tuple(dict.fromkeys(names))


def _image(value: object, by_id: dict[str, dict[str, object]]) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        if "url" not in value and "contentUrl" not in value:
            value = by_id.get(str(value.get("@id")), value)
        value = value.get("url") or value.get("contentUrl")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _free(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _body(value: object) -> str | None:
    if isinstance(value, list):
        # Some CMSs split the body into one string per paragraph.
        value = "\n\n".join(item for item in value if isinstance(item, str))
    return value if isinstance(value, str) and value.strip() else None


def _pick(nodes: list[dict[str, object]]) -> dict[str, object] | None:
    strong = [n for n in nodes if _types(n) & (_ARTICLE_TYPES - _WEAK_TYPES)]
    if strong:
        # The node with a body or a headline is the page's article; others are teasers.
        return max(strong, key=lambda n: ("articleBody" in n, "headline" in n))
    weak = [n for n in nodes if _types(n) & _WEAK_TYPES]
    return weak[0] if weak else None


def read_jsonld(scripts: list[str]) -> JsonLd:
    """Parse every ``application/ld+json`` script and return the article node's fields."""
    nodes: list[dict[str, object]] = []
    for raw in scripts:
        try:
            if raw.startswith("\ufeff"):
                continue  # what json.loads refuses before decoding
            nodes.extend(_nodes(_DECODER.decode(raw)))
        except (ValueError, RecursionError):
            continue  # invalid JSON-LD is common and simply ignored
    article = _pick(nodes)
    if article is None:
        return JsonLd()
    by_id = {str(n["@id"]): n for n in nodes if isinstance(n.get("@id"), str)}
    publisher = article.get("publisher")
    if isinstance(publisher, dict) and "name" not in publisher:
        publisher = by_id.get(str(publisher.get("@id")), publisher)
    main = article.get("mainEntityOfPage")
    return JsonLd(
        headline=_text(article.get("headline") or article.get("name")),
        published=_text(article.get("datePublished") or article.get("dateCreated")),
        modified=_text(article.get("dateModified")),
        authors=_names(article.get("author") or article.get("creator"), by_id),
        language=_text(article.get("inLanguage")),
        publisher=_text(publisher),
        image=_image(article.get("image") or article.get("thumbnailUrl"), by_id),
        description=_text(article.get("description")),
        url=_text(article.get("url") or main),
        free=_free(article.get("isAccessibleForFree")),
        body=_body(article.get("articleBody") or article.get("text")),
    )
