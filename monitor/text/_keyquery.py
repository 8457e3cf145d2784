"""A boolean query over search keys: what the rules compile a query to, what the store runs.

The rules (which know how words become keys) and the store (which knows SQL) may not
import each other, so the tree they exchange lives here, as plain frozen data. A tree
only ever *over-selects*: every article a rule can match satisfies it, and the rule
itself decides on the articles it lets through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeyTerm:
    """An article holding the key ``token`` (or, with ``prefix``, a key starting with it)."""

    token: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class KeyAll:
    """Every part holds. No parts: every article (nothing could be required)."""

    parts: tuple[KeyQuery, ...] = ()


@dataclass(frozen=True, slots=True)
class KeyAny:
    """At least one part holds (never empty: see :func:`key_any`)."""

    parts: tuple[KeyQuery, ...]


KeyQuery = KeyTerm | KeyAll | KeyAny
# What a query that requires nothing compiles to: the store reads every article.
EVERYTHING = KeyAll()


def key_all(parts: Iterable[KeyQuery]) -> KeyQuery:
    """AND of ``parts``, with "every article" parts dropped and nested ANDs flattened."""
    flat: list[KeyQuery] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, KeyAll) else (part,))
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else KeyAll(unique)


def key_any(parts: Iterable[KeyQuery]) -> KeyQuery:
    """OR of ``parts``: "every article" as soon as one part is, nested ORs flattened."""
    flat: list[KeyQuery] = []
    for part in parts:
        if part == EVERYTHING:
            return EVERYTHING
        flat.extend(part.parts if isinstance(part, KeyAny) else (part,))
    unique = tuple(dict.fromkeys(flat))
    if not unique:
        raise ValueError("an OR needs at least one part")
    return unique[0] if len(unique) == 1 else KeyAny(unique)
