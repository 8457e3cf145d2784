"""Bytes to text for HTML pages: the first stage of extraction.

The order follows the HTML standard's sniffing: a byte-order mark wins, then the
charset the server sent, then what the page declares in its first bytes, then a guess.
A wrong guess shows up as mojibake in every alert, so UTF-8 is tried strictly before
falling back to statistical detection (which is what catches a windows-1252 or cp1251
page that declares nothing).
"""

from __future__ import annotations

import codecs
import re

from monitor.text import LATIN1_AS_CP1252, decode_bom, detect_codec, lookup_codec, strict_decode

# Browsers read these labels as the codec on the right (the WHATWG encoding standard):
# the latin-1 labels every stage reads so, and the rest of what browsers do for pages.
_ALIASES = {
    **LATIN1_AS_CP1252,
    "l1": "cp1252",
    "x-user-defined": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
}

# Searched in the ASCII-lowered bytes, where it is case-sensitive: a literal start
# lets re skip to each "<meta", where the case-insensitive pattern tried every byte.
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-z0-9_:.+-]+)""")
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.+-]+)""")
_PRESCAN_BYTES = 4096
# Detection, the slow step, reads only the first 64 KiB of a page.
_DETECT_SAMPLE = 65536
# Single-byte codecs that statistical detection confuses with windows-1252.
_LATIN_LOOKALIKES = frozenset(
    {
        "cp1250", "iso8859-2", "cp1257", "iso8859-4", "iso8859-13", "iso8859-10", "cp1254",
        "iso8859-9", "iso8859-15", "iso8859-16", "latin-1", "iso8859-1", "mac-latin2",
        "mac-roman", "cp850", "cp852", "cp437", "iso8859-3", "iso8859-14",
    }
)  # fmt: skip
# Non-ASCII characters of Western European text (letters, quotes, dashes, symbols).
_WESTERN = frozenset(
    "àâäáãåçéèêëíìîïñóòôöõøúùûüÿýœæßÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕØÚÙÛÜŸŒÆ’‘“”„«»…–—•€£°·×±²³¼½¾©®™§¶\u00a0"
)
_WESTERN_MIN_SHARE = 0.9


def normalize_charset(label: str | None) -> str | None:
    """Map a charset label to a Python codec name, or None when Python knows no such codec."""
    codec = lookup_codec(label, _ALIASES)
    if codec is None:
        return None
    # A page that says UTF-16 in a meta tag but has no BOM is really ASCII-compatible.
    return "utf-8" if codec.startswith("utf-16") or codec.startswith("utf-32") else codec


def _declared(data: bytes) -> str | None:
    head = data[:_PRESCAN_BYTES]
    match = _XML_DECL.match(head) or _META_CHARSET.search(head.lower())
    if match is None:
        return None
    # The label as written (bytes.lower keeps every byte where it was).
    return normalize_charset(head[match.start(1) : match.end(1)].decode("ascii", "replace"))


def _western_share(text: str) -> float:
    others = [char for char in text if ord(char) > 127]
    return sum(char in _WESTERN for char in others) / len(others) if others else 1.0


def _detect(data: bytes) -> str:
    text = strict_decode(data, "utf-8")
    if text is not None:
        return text
    codec = normalize_charset(detect_codec(data, _DETECT_SAMPLE))
    if codec is None or codec in _LATIN_LOOKALIKES:
        # On a short French or English page the statistics cannot tell windows-1252
        # from its Central European cousins, and a wrong pick garbles every accent
        # ("fęte", "ŕ"). Pages in this project's languages are far more often
        # windows-1252, so it wins whenever it reads as Western text.
        western = strict_decode(data, "cp1252")
        if western is not None and _western_share(western) >= _WESTERN_MIN_SHARE:
            return western
    return data.decode(codec or "cp1252", "replace")


def decode_html(data: bytes, charset: str | None = None) -> str:
    """Decode an HTML page: BOM, then ``charset`` (from HTTP), then the page's own declaration,
    then detection. Never raises: undecodable bytes become U+FFFD."""
    marked = decode_bom(data)
    if marked is not None:
        return marked
    for codec in (normalize_charset(charset), _declared(data)):
        if codec is None:
            continue
        text = strict_decode(data, codec)
        if text is not None:
            return text
        if codec != "utf-8":
            return data.decode(codec, "replace")
        # A page labelled UTF-8 that is not is usually windows-1252 mislabelled: guess.
        return _detect(data)
    return _detect(data)


def html_utf8(html: str | bytes, charset: str | None = None) -> tuple[bytes, bool]:
    """Return the page as UTF-8 bytes for the parser, and whether they are known valid.

    Lexbor parses UTF-8 bytes faster than a Python str, so bytes that are (or say they
    are) UTF-8 are passed through unchecked: validating costs as much as a quarter of
    the parse. The caller re-decodes only if U+FFFD shows up in what it extracted.
    """
    if isinstance(html, str):
        return html.encode("utf-8", "surrogatepass"), True
    if not html.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
        codec = normalize_charset(charset) or _declared(html)
        if codec in (None, "utf-8"):
            return html.removeprefix(codecs.BOM_UTF8), False
    return decode_html(html, charset).encode("utf-8", "surrogatepass"), True


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8."""
    return strict_decode(data, "utf-8") is not None
