"""Plain-text tables for the commands' output, and URLs' passwords kept out of it."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.text import redact_urls


def table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def scrub(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``: the last guard
    before the terminal, whichever package wrote the message (``text.redact_urls``)."""
    return redact_urls(text)
