"""Feed bytes -> text, before any XML parser sees them.

``parse_feed`` decodes the bytes itself instead of leaving it to feedparser so that the
hostile-DTD guard in ``_guard`` inspects exactly the characters the XML parser will read:
a DOCTYPE hidden in UTF-16 or behind a declared UTF-7 must not slip past a byte-level
check. The decoded text is then handed on as UTF-8 with a declaration saying so.
"""

from __future__ import annotations

import re

from monitor.text import LATIN1_AS_CP1252, decode_bom, detect_codec, lookup_codec, strict_decode

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

# Detection reads a sample: enough to be sure, bounded so a 15 MiB feed stays cheap.
_DETECT_SAMPLE = 256 * 1024


def declared_charsets(data: bytes, content_type: str | None) -> list[str]:
    """Codecs named by the HTTP header and the XML declaration, header first.

    Labels Python knows no codec for are left out, as decoding by them could only fail.
    """
    names: list[str] = []
    if content_type:
        match = _CHARSET_PARAM.search(content_type)
        if match:
            names.append(match.group(1))
    decl = _XML_DECL_ENCODING.match(data.lstrip()[:512])
    if decl:
        names.append(decl.group(1).decode("ascii"))
    # Only the latin-1 labels are read as windows-1252 here. The wider table pages use
    # (gb2312 as gb18030, ...) is how browsers read HTML; a feed's label means what it says.
    found = [lookup_codec(name, LATIN1_AS_CP1252) for name in names]
    return [codec for codec in found if codec is not None]


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
    text = strict_decode(data, "utf-8")
    if text is not None:
        return text
    for codec in declared_charsets(data, content_type):
        if codec == "utf-8":
            continue  # just failed above
        text = strict_decode(data, codec)
        if text is not None:
            return text
    detected = detect_codec(data, _DETECT_SAMPLE)
    if detected is not None:
        text = strict_decode(data, detected)
        if text is not None:
            return text
    return data.decode("windows-1252", errors="replace")


def as_utf8_document(text: str) -> bytes:
    """Encode ``text`` as UTF-8, its XML declaration (if any) rewritten to say so."""
    decl = _XML_DECL.match(text)
    if decl:
        text = '<?xml version="1.0" encoding="utf-8"?>' + text[decl.end() :]
    return text.encode("utf-8", errors="replace")
