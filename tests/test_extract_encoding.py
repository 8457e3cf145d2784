"""monitor.extract.decode_html: BOM > HTTP charset > page declaration > detection."""

from __future__ import annotations

import codecs

import pytest

from monitor.extract import decode_html, extract_article

FRENCH = (
    "<p>« L’été dernier, nous sommes allés à la fête du village près de Nîmes ; "
    "c’était très réussi, même sous la pluie… » raconte Hélène, élue à la mairie.</p>"
)
RUSSIAN = (
    "<p>Вчера в Новосибирске прошёл первый снег: жители города вышли на улицы, "
    "чтобы сфотографировать заснеженные деревья и крыши домов.</p>"
)

# ISO-8859-15 has no curly quotes: the XML-declared page uses straight ones and a euro.
PLAIN_FRENCH = "<p>Le café coûte 2 € à Besançon depuis l'été, déplore Noël.</p>"
HTTP_EQUIV = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
XML_DECL = '<?xml version="1.0" encoding="ISO-8859-15"?>'


def _page(body: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        # Byte-order marks win over everything, even a wrong HTTP charset.
        (codecs.BOM_UTF8 + _page(FRENCH).encode(), "iso-8859-1", _page(FRENCH)),
        (codecs.BOM_UTF16_LE + _page(FRENCH).encode("utf-16-le"), None, _page(FRENCH)),
        (codecs.BOM_UTF16_BE + _page(FRENCH).encode("utf-16-be"), "utf-8", _page(FRENCH)),
        # The HTTP charset beats the page's declaration.
        (
            _page(FRENCH, '<meta charset="utf-8">').encode("cp1252"),
            "windows-1252",
            _page(FRENCH, '<meta charset="utf-8">'),
        ),
        # A page's own declaration, as meta charset, http-equiv or XML declaration.
        (_page(FRENCH, '<meta charset="windows-1252">').encode("cp1252"), None,
         _page(FRENCH, '<meta charset="windows-1252">')),
        (_page(RUSSIAN, HTTP_EQUIV).encode("cp1251"), None, _page(RUSSIAN, HTTP_EQUIV)),
        (
            (XML_DECL + _page(PLAIN_FRENCH)).encode("iso-8859-15"),
            None,
            XML_DECL + _page(PLAIN_FRENCH),
        ),
        # latin-1 labels mean windows-1252, as in browsers: curly quotes survive.
        (_page(FRENCH).encode("cp1252"), "ISO-8859-1", _page(FRENCH)),
        # Nothing declared: strict UTF-8 first, then detection.
        (_page(FRENCH).encode("utf-8"), None, _page(FRENCH)),
        (_page(FRENCH).encode("cp1252"), None, _page(FRENCH)),
        (_page(RUSSIAN).encode("cp1251"), None, _page(RUSSIAN)),
        # Labelled UTF-8 but really windows-1252: detection rescues it.
        (_page(FRENCH).encode("cp1252"), "utf-8", _page(FRENCH)),
        # Unknown labels are ignored rather than fatal.
        (_page(FRENCH).encode("utf-8"), "x-no-such-charset", _page(FRENCH)),
    ],
)  # fmt: skip
def test_decode_html(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_html(data, charset) == expected


def test_mojibake_free_extraction_of_undeclared_legacy_pages() -> None:
    for text, codec in ((FRENCH, "cp1252"), (RUSSIAN, "cp1251")):
        article = extract_article(_page(f"<article>{text}</article>").encode(codec))
        assert article.text == text[3:-4]


def test_undecodable_bytes_become_replacement_characters() -> None:
    assert decode_html(b"<p>caf\xc3</p>", "utf-8").startswith("<p>caf")
    assert decode_html(b"<p>ok</p>", "shift_jis") == "<p>ok</p>"


@pytest.mark.parametrize("as_bytes", [False, True])
def test_declared_legacy_charset_in_text_or_bytes(as_bytes: bool) -> None:
    page = _page(f"<article>{FRENCH}</article>", '<meta charset="windows-1252">')
    article = extract_article(page.encode("cp1252") if as_bytes else page)
    assert article.text == FRENCH[3:-4]
