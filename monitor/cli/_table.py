"""Plain-text tables for the commands' output, and URLs' passwords kept out of it."""

from __future__ import annotations

import re
from collections.abc import Sequence

# user:password@ in any URL a message quotes (a source's, a proxy's): the last guard
# before the terminal, whichever package wrote the message.
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]*):[^\s/]+@")


def table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def scrub(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\1:***@", text)
