"""Feed bytes -> text, before any XML parser sees them.

``parse_feed`` decodes the bytes itself instead of leaving it to feedparser so that the
hostile-DTD guard in ``_guard`` inspects exactly the characters the XML parser will read:
a DOCTYPE hidden in UTF-16 or behind a declared UTF-7 must not slip past a byte-level
check. The decoded text is then handed on as UTF-8 with a declaration saying so.
"""

from __future__ import annotations

import re

from charset_normalizer import from_bytes

from monitor.text import decode_bom

# Without a mark, the first "<" (or "<?") tells the width and byte order (XML 1.0, F.1).
_NULL_PATTERNS = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)

_XML_DECL_ENCODING = re.compile(
    rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']"""
)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]{0,200}?\?>")

# Labels that servers and CMSs use for windows-1252 text; browsers treat them so too.
_LATIN1_ALIASES = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii"}

# Detection reads a sample: enough to be sure, bounded so a 15 MiB feed stays cheap.
_DETECT_SAMPLE = 256 * 1024


def declared_charsets(data: bytes, content_type: str | None) -> list[str]:
    """Charsets named by the HTTP header and the XML declaration, header first."""
    names: list[str] = []
    if content_type:
        match = _CHARSET_PARAM.search(content_type)
        if match:
            names.append(match.group(1).lower())
    decl = _XML_DECL_ENCODING.match(data.lstrip()[:512])
    if decl:
        names.append(decl.group(1).decode("ascii").lower())
    return ["windows-1252" if name in _LATIN1_ALIASES else name for name in names]


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def decode_feed(data: bytes, content_type: str | None = None) -> str:
    """Decode feed bytes: byte-order mark, UTF-16/32 shape, UTF-8, declared, detected."""
    marked = decode_bom(data)
    if marked is not None:
        return marked
    for pattern, encoding in _NULL_PATTERNS:
        if data.startswith(pattern):
            return data.decode(encoding, errors="replace")
    # Valid UTF-8 with non-ASCII bytes is almost never another encoding by accident, and
    # mislabelled UTF-8 (a server saying ISO-8859-1) is the commonest charset bug on feeds.
    text = _try_decode(data, "utf-8")
    if text is not None:
        return text
    for name in declared_charsets(data, content_type):
        if name.replace("_", "-") in {"utf-8", "utf8"}:
            continue
        text = _try_decode(data, name)
        if text is not None:
            return text
    best = from_bytes(data[:_DETECT_SAMPLE]).best()
    if best is not None:
        text = _try_decode(data, best.encoding)
        if text is not None:
            return text
    return data.decode("windows-1252", errors="replace")


def as_utf8_document(text: str) -> bytes:
    """Encode ``text`` as UTF-8, its XML declaration (if any) rewritten to say so."""
    decl = _XML_DECL.match(text)
    if decl:
        text = '<?xml version="1.0" encoding="utf-8"?>' + text[decl.end() :]
    return text.encode("utf-8", errors="replace")
