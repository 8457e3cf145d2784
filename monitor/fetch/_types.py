"""The fetcher's public value types: its settings, what a GET or POST returns, and the
resolver seam.

They are frozen dataclasses so the pipeline can pass results between stages without
anyone mutating them behind its back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from monitor.config import FetchConfig


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Limits and manners shared by every request one ``Fetcher`` makes."""

    user_agent: str = "news-monitor/0.1 (+https://github.com/news-monitor/news-monitor)"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 30.0  # deadline for the whole request incl. body
    max_bytes: int = 15 * 1024 * 1024  # decoded
    max_redirects: int = 5
    per_origin_concurrency: int = 2
    min_delay: float = 1.0  # seconds between requests to one origin
    http2: bool = False  # offered by ALPN over TLS; needs the h2 package

    @classmethod
    def from_config(cls, f: FetchConfig) -> FetchSettings:
        """The settings of a config's ``fetch:`` section."""
        total = f.timeout.total_seconds()
        settings = cls(
            connect_timeout=min(f.connect_timeout.total_seconds(), total),
            read_timeout=total,
            total_timeout=total,
            max_bytes=f.max_size,
            max_redirects=f.max_redirects,
            per_origin_concurrency=f.per_host_concurrency,
            min_delay=f.min_delay.total_seconds(),
            http2=f.http2,
        )
        return replace(settings, user_agent=f.user_agent) if f.user_agent else settings


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful GET (2xx) or a 304 answer to a conditional GET."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    headers: Mapping[str, str]  # lower-cased names
    content: bytes  # decoded (content-encoding removed), b"" on 304
    charset: str | None  # from Content-Type
    content_type: str | None  # media type only
    etag: str | None
    last_modified: str | None
    not_modified: bool  # 304
    elapsed: float


@dataclass(frozen=True, slots=True)
class PostResult:
    """What the receiver of a POST answered, whatever its status."""

    status: int
    headers: Mapping[str, str]
    body: bytes  # first 64 KiB at most


class Resolver(Protocol):
    """Turns a host name into the IP addresses the guard checks and then connects to."""

    async def resolve(self, host: str, port: int) -> list[str]: ...
