"""Byte-order marks, shared by the two stages that decode bytes themselves (feeds, pages).

A byte-order mark outranks every other charset hint: the HTTP header, a declaration in
the document, detection.
"""

from __future__ import annotations

import codecs

# Order matters: the UTF-32 little-endian mark starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_bom(data: bytes) -> str | None:
    """The text after a byte-order mark, decoded by it; None when there is no mark."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    return None
