"""Bytes to text, the parts the two stages that decode bytes themselves share (feeds, pages).

A byte-order mark outranks every other charset hint: the HTTP header, a declaration in
the document, detection. What the stages do with the other hints differs (an XML
declaration and UTF-16/32 shapes for feeds, meta tags and the WHATWG labels for pages),
so that order lives with each stage; the steps they both take live here.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping

from charset_normalizer import from_bytes

# Order matters: the UTF-32 little-endian mark starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Labels that servers and CMSs put on windows-1252 text; browsers read them so too, as
# such text almost always holds cp1252's curly quotes and dashes from 0x80-0x9F.
LATIN1_AS_CP1252: Mapping[str, str] = dict.fromkeys(
    ("iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii"), "cp1252"
)


def decode_bom(data: bytes) -> str | None:
    """The text after a byte-order mark, decoded by it; None when there is no mark."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    return None


def lookup_codec(label: str | None, aliases: Mapping[str, str]) -> str | None:
    """The Python codec name for a charset label, read through ``aliases`` (keys lower-case).

    None when there is no label or Python knows no such codec: an unknown label is a
    hint to ignore, never an error.
    """
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    try:
        return codecs.lookup(aliases.get(name, name)).name
    except LookupError:
        return None


def strict_decode(data: bytes, codec: str) -> str | None:
    """``data`` decoded by ``codec``; None when it is not valid in it or no such codec exists.

    Strict, so that a wrong hint shows as None and the caller moves on to the next one
    instead of turning the text into mojibake.
    """
    try:
        return data.decode(codec)
    except (LookupError, UnicodeDecodeError):
        return None


def detect_codec(data: bytes, sample: int) -> str | None:
    """charset_normalizer's best guess at the codec of ``data``, None when it has none.

    Only the first ``sample`` bytes are read: detection is the slow step, and each stage
    knows how large its documents get.
    """
    best = from_bytes(data[:sample]).best()
    return best.encoding if best is not None else None
