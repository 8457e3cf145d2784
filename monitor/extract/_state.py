"""Article text a script would have written in: JSON-LD ``articleBody`` and embedded state.

Pages built by JavaScript ship their article twice: once for search engines in the
JSON-LD ``articleBody``, and once for their own script in a state blob
(``<script id="__NEXT_DATA__">``, an ``application/json`` script, a
``window.__INITIAL_STATE__ = {...}`` assignment). When the DOM body is empty or a
teaser, ``pick_body`` reads those instead. The JSON comes from the network: each blob
is capped in size, walked without recursion, and the walk stops after a fixed number of
values, so no page can cost more than a bounded amount of time or memory here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from monitor.extract._text import body_text

# A DOM body this long is the article: the scripts are not read at all.
_FULL_WORDS = 400
# Below this, the DOM body is a teaser and the embedded state is worth parsing.
_TEASER_WORDS = 150
# One state blob larger than this is not parsed (Next.js pages carry 100 kB to 2 MB).
MAX_STATE_CHARS = 4_000_000
# Values looked at per blob, and nesting followed, before the walk gives up.
_MAX_VALUES = 200_000
_MAX_DEPTH = 64
# A string shorter than this is a title, a label or a teaser, not a body.
_MIN_BODY_CHARS = 300
# Keys under which state blobs keep an article's body (lower-cased, no punctuation).
_BODY_KEYS = frozenset(
    {
        "articlebody", "body", "bodyhtml", "bodytext", "content", "contenthtml", "html",
        "text", "fulltext", "articlehtml", "articletext", "storybody", "renderedcontent",
    }
)  # fmt: skip
# Assignments of a state object in an inline script: ``window.__X__ = {`` and
# ``window["__X__"] = {``; only names in the __UPPER__ style that frameworks use.
_ASSIGNMENT = re.compile(
    r"""(?:window\s*(?:\.\s*|\[\s*["'])|\bvar\s+|\blet\s+|\bconst\s+)(__[A-Z][A-Z0-9_]*__)["']?\s*\]?\s*=\s*"""
)
# What every assignment above contains from its name on: a search for it runs at C
# speed (its literal "__" start), where the full pattern's alternation tries every
# position of a 100 kB script in turn (milliseconds per script).
_NAMED = re.compile(r"""__[A-Z][A-Z0-9_]*__["']?\s*\]?\s*=""")
# What may sit between an assignment's keyword and its name: ``window [ "`` or ``var ``.
_BETWEEN = "\"'[."
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_REDUCED = 6
_NON_KEY = re.compile(r"[^a-z]")


@dataclass(frozen=True, slots=True)
class StateScript:
    """One script that may hold the page's state: its kind (``next-data`` or
    ``json-state``) and its text (JSON, or the script holding an assignment)."""

    kind: str
    text: str
    assignment: bool = False


def state_kind(attrs: dict[str, str | None]) -> str | None:
    """What a script may hold, judged from its attributes alone: ``next-data``,
    ``json-state`` (JSON), ``assignment`` (inline JavaScript, which holds state only
    if its text assigns a ``__NAME__``), or None for the others."""
    if attrs.get("id") == "__NEXT_DATA__":
        return "next-data"
    kind = (attrs.get("type") or "").lower()
    if "json" in kind:
        return "json-state" if "ld+json" not in kind else None
    if "src" in attrs or (kind and "javascript" not in kind):
        return None
    return "assignment"


def state_script(attrs: dict[str, str | None], text: Callable[[], str]) -> StateScript | None:
    """The script as a ``StateScript`` when its attributes or text say it holds page
    state; None for ordinary scripts (the vast majority: their text is read only when
    they are inline JavaScript)."""
    kind = state_kind(attrs)
    if kind is None:
        return None
    content = text()
    if kind != "assignment":
        return StateScript(kind, content)
    return StateScript("json-state", content, assignment=True) if "__" in content else None


# A script that may hold state, with what reads its text: read only on teaser pages.
PendingScript = tuple[dict[str, str | None], Callable[[], str]]


def _words(text: str) -> int:
    # Counted, not split: no list of every word of every page (bodies are written out
    # with single spaces and newlines, so the separators count the words).
    if not text or text.isspace():
        return 0
    return text.count(" ") + text.count("\n") + 1 - text.count("\n\n")


def as_text(raw: str) -> str:
    """A body string from JSON as plain paragraphs: HTML reduced to text the way the
    DOM body is written out, plain text with its line breaks kept as paragraphs."""
    if _TAG.search(raw):
        tree = LexborHTMLParser(f"<html><body>{raw}</body></html>")
        for node in tree.css("script, style"):
            node.decompose()
        return body_text([tree.body]) if tree.body is not None else ""
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*\n|\r\n|\n", raw))
    return "\n\n".join(p for p in paragraphs if p)


def _assignment(text: str) -> re.Match[str] | None:
    """``_ASSIGNMENT.search(text)``, searched only from just before the first place a
    name could be assigned: no match can start earlier, since the keyword and what
    follows it up to the name (spaces, ``.``, ``[``, a quote) hold no ``__``."""
    named = _NAMED.search(text)
    if named is None:
        return None
    start = len(text[: named.start()].rstrip())
    while start and text[start - 1] in _BETWEEN:
        start = len(text[: start - 1].rstrip())
    return _ASSIGNMENT.search(text, max(0, start - len("window")))


def _decode(script: StateScript) -> object:
    text = script.text
    if len(text) > MAX_STATE_CHARS:
        return None
    try:
        if not script.assignment:
            return json.loads(text)
        match = _assignment(text)
        if match is None:
            return None
        rest = text[match.end() :].lstrip()
        if rest.startswith("JSON.parse("):
            # window.__X__ = JSON.parse("...escaped JSON...")
            inner, _ = json.JSONDecoder().raw_decode(rest[len("JSON.parse(") :].lstrip())
            return json.loads(inner) if isinstance(inner, str) else None
        value, _ = json.JSONDecoder().raw_decode(rest)
        return value
    except (ValueError, RecursionError):
        return None  # not JSON after all (JavaScript object syntax): nothing to read


def _prose(text: str) -> bool:
    # Base64 images, CSS and serialized markup are long strings too; prose has a space
    # every few characters and few of its words are URLs.
    spaces = text.count(" ")
    return spaces * 12 > len(text) and text.count("http") * 40 < spaces


def _candidates(value: object) -> list[tuple[bool, str]]:
    """Long strings of the blob, each with whether its key names a body."""
    found: list[tuple[bool, str]] = []
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    seen = 0
    while stack and seen < _MAX_VALUES:
        item, key, depth = stack.pop()
        seen += 1
        if isinstance(item, str):
            if len(item) >= _MIN_BODY_CHARS and _prose(item):
                found.append((_NON_KEY.sub("", key.lower()) in _BODY_KEYS, item))
        elif depth < _MAX_DEPTH and isinstance(item, dict):
            stack.extend((v, str(k), depth + 1) for k, v in item.items())
        elif depth < _MAX_DEPTH and isinstance(item, list):
            strings = [v for v in item if isinstance(v, str)]
            joined = "\n\n".join(strings)
            # A body kept as one string per paragraph (paragraphs, not a list of names).
            if len(joined) >= max(_MIN_BODY_CHARS, 40 * len(strings)) and _prose(joined):
                found.append((_NON_KEY.sub("", key.lower()) in _BODY_KEYS, joined))
            stack.extend((v, key, depth + 1) for v in item if not isinstance(v, str))
    return found


def state_body(scripts: list[StateScript]) -> tuple[str, str] | None:
    """The article text held in the page's state blobs and the kind of blob it came
    from; None when none holds prose. A string under a body-like key (``body``,
    ``content``, ``articleBody``) wins over a longer one under another key only when
    it is at least half as long: a page's state also holds comments and other articles."""
    ranked: list[tuple[int, str, str]] = []
    for script in scripts:
        for named, raw in _candidates(_decode(script)):
            ranked.append((len(raw) * (2 if named else 1), raw, script.kind))
    # Reducing HTML to text costs a parse: only the few longest strings are reduced.
    ranked.sort(key=lambda item: item[0], reverse=True)
    best: tuple[int, str, str] | None = None
    for weight, raw, kind in ranked[:_REDUCED]:
        text = as_text(raw)
        score = _words(text) * (2 if weight > len(raw) else 1)
        if best is None or score > best[0]:
            best = (score, text, kind)
    return (best[1], best[2]) if best is not None else None


def _better(candidate: str, dom_words: int) -> bool:
    words = _words(candidate)
    return words > 2 * dom_words + 10


def pick_body(dom: str, ld_body: str | None, scripts: list[PendingScript]) -> tuple[str, str]:
    """The body to keep and where it came from (``dom``, ``json-ld``, ``next-data``,
    ``json-state``): the DOM's unless it is empty or a teaser and a script's copy of
    the article is more than twice as long. ``scripts``: those that may hold the
    page's state (``state_kind``), whose text is read only for a teaser."""
    if ld_body is None and not scripts:
        return dom, "dom"  # most pages: nothing to compare with
    dom_words = _words(dom)
    # Most pages' articleBody repeats their DOM body: an upper bound on its words (each
    # tag may glue two words) skips reducing it to text.
    if (
        ld_body is not None
        and dom_words < 4 * _FULL_WORDS
        and _words(ld_body) + ld_body.count("<") > 2 * dom_words + 10
    ):
        text = as_text(ld_body)
        if _better(text, dom_words):
            return text, "json-ld"
    states = [state_script(*pending) for pending in scripts] if dom_words < _TEASER_WORDS else []
    if states := [state for state in states if state is not None]:
        found = state_body(states)
        if found is not None and _better(found[0], dom_words):
            return found
    return dom, "dom"
