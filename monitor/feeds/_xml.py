"""XML read with the guards every XML input shares (sitemaps, OPML files)."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class XmlUnreadable(Exception):
    """Why ``read_xml`` refused its bytes; callers word it for their own input.

    ``line`` and ``column`` are set when the bytes are not well-formed XML, and None
    when defusedxml refused them (entity declarations).
    """

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.line, self.column = reason, line, column


def read_xml(data: bytes) -> Element:
    """The root element of ``data``; ``XmlUnreadable`` when it is not well-formed or
    declares entities (a DTD alone is allowed: real sitemaps and OPML files carry one)."""
    try:
        root: Element = fromstring(data, forbid_dtd=False)
    except DefusedXmlException as exc:
        raise XmlUnreadable(f"{type(exc).__name__} (entities are not allowed)") from None
    except ParseError as exc:
        line, column = exc.position
        raise XmlUnreadable(str(exc).split(":", 1)[0], line, column) from None
    return root
