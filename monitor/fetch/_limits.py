"""Reading a response body within a size cap, whatever its content encoding.

The cap is on the decoded size and is enforced while streaming: each decompressor is
asked for at most the bytes still allowed (plus one, to notice the overflow), so a
gzip, deflate or brotli bomb costs the cap in memory, never its expanded size.
Stacked encodings (``gzip, gzip``) serve no honest purpose and are refused, as are
encodings we did not offer.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Protocol

import brotli  # type: ignore[import-untyped]  # ships no stubs or py.typed

from monitor.errors import BadEncoding, BodyTooLarge

ACCEPT_ENCODING = "gzip, deflate, br"
_GZIP_MAGIC = b"\x1f\x8b"


STEP = 1024 * 1024  # decoded bytes asked of a decoder at a time


class _Decoder(Protocol):
    def feed(self, data: bytes) -> None:
        """Hand over the next raw chunk; only once ``read`` has returned b""."""

    def read(self, size: int) -> bytes:
        """Up to about ``size`` decoded bytes; b"" once it needs more input."""

    def flush(self) -> bytes: ...


class _Identity:
    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> None:
        self._pending = data

    def read(self, size: int) -> bytes:
        out, self._pending = self._pending, b""
        return out

    def flush(self) -> bytes:
        return b""


class _Zlib:
    """gzip (members one after another, as RFC 1952 allows) and deflate, zlib-wrapped
    or raw: servers send both under the name ``deflate``."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._sniff_raw = not gzip
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        self._pending = b""

    def feed(self, data: bytes) -> None:
        if self._sniff_raw:
            data = self._pending + data
            if len(data) < 2:  # the zlib header is two bytes; wait for both
                self._pending = data
                return
            self._sniff_raw = False
            try:
                zlib.decompressobj().decompress(data[:2])
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        self._pending = data

    def read(self, size: int) -> bytes:
        while self._pending and not self._sniff_raw:
            # max_length 0 would mean "no limit" to zlib, hence max(1, ...).
            out = self._obj.decompress(self._pending, max(1, size))
            before, self._pending = self._pending, self._obj.unconsumed_tail
            if self._obj.eof:
                rest = self._obj.unused_data
                self._pending = b""
                if self._gzip and rest.startswith(_GZIP_MAGIC):
                    self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16)
                    self._pending = rest
                # else: trailing garbage after the stream is ignored, as zcat does
            if out:
                return out
            if self._pending == before:
                self._pending = b""  # no progress: wait for more input
        return b""

    def flush(self) -> bytes:
        return self._obj.flush() if not self._obj.eof else b""


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()
        self._pending = b""

    def feed(self, data: bytes) -> None:
        self._pending = data

    def read(self, size: int) -> bytes:
        if not self._obj.can_accept_more_data():
            # Output held back by the last limit must be drained before new input.
            return bytes(self._obj.process(b"", output_buffer_limit=max(1, size)))
        if not self._pending:
            return b""
        data, self._pending = self._pending, b""
        return bytes(self._obj.process(data, output_buffer_limit=max(1, size)))

    def flush(self) -> bytes:
        return b""


def decoder_for(content_encoding: str | None, url: str | None = None) -> _Decoder:
    """The decoder for a Content-Encoding header, or BadEncoding."""
    codings = [
        coding.strip().lower()
        for coding in (content_encoding or "").split(",")
        if coding.strip() and coding.strip().lower() != "identity"
    ]
    if len(codings) > 1:
        raise BadEncoding(f"stacked content encodings refused: {content_encoding}", url)
    if not codings:
        return _Identity()
    coding = codings[0]
    if coding in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if coding == "deflate":
        return _Zlib(gzip=False)
    if coding == "br":
        return _Brotli()
    raise BadEncoding(f"content encoding {coding!r} was not offered", url)


async def read_capped(
    chunks: AsyncIterator[bytes],
    content_encoding: str | None,
    max_bytes: int,
    url: str | None = None,
    *,
    truncate: bool = False,
) -> bytes:
    """The decoded body, at most ``max_bytes`` of it.

    Past the cap this raises BodyTooLarge, or with ``truncate`` returns the first
    ``max_bytes`` and stops reading (robots.txt and webhook answers want a prefix).
    """
    decoder = decoder_for(content_encoding, url)
    body = bytearray()
    try:
        async for chunk in chunks:
            decoder.feed(chunk)
            # Small steps keep the peak near the cap, not twice it.
            while len(body) <= max_bytes and (
                part := decoder.read(min(STEP, max_bytes + 1 - len(body)))
            ):
                body += part
            if len(body) > max_bytes:
                break
        else:
            body += decoder.flush()
    except (zlib.error, brotli.error) as exc:
        raise BadEncoding(f"body does not decode as {content_encoding}: {exc}", url) from exc
    if len(body) > max_bytes:
        if truncate:
            return bytes(body[:max_bytes])
        raise BodyTooLarge(f"decoded body exceeds {max_bytes} bytes", url)
    return bytes(body)
