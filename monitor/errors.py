"""Typed errors for every stage, rooted in one ``MonitorError``.

Each error carries a short ``kind`` that the store records on the source or channel it
happened to, so ``monitor status`` and the metrics can group failures without parsing
messages.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Root of every error news-monitor raises on purpose."""

    kind: str = "error"


class ConfigError(MonitorError):
    """sources.yaml is invalid; the message names the file, the line and the key."""

    kind = "config"


class FetchError(MonitorError):
    """A request failed; subclasses say how."""

    kind = "fetch"

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class FetchTimeout(FetchError):
    kind = "timeout"


class ConnectFailed(FetchError):
    kind = "connect"


class BodyTooLarge(FetchError):
    kind = "too_large"


class TooManyRedirects(FetchError):
    kind = "redirects"


class BlockedAddress(FetchError):
    """The URL's scheme or resolved address is not allowed (SSRF guard)."""

    kind = "blocked_address"


class DisallowedByRobots(FetchError):
    kind = "robots"


class BadEncoding(FetchError):
    """Stacked or unknown content encodings, or a body that does not decode."""

    kind = "encoding"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(
        self,
        message: str,
        url: str | None = None,
        status: int = 0,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url)
        self.status = status
        self.retry_after = retry_after


class RenderError(FetchError):
    """A page could not be loaded in the headless browser (``render: browser``)."""

    kind = "render"


class RenderUnavailable(RenderError):
    """``render: browser`` is configured but Playwright or Chromium is missing."""

    kind = "render_unavailable"


class FeedError(MonitorError):
    """The bytes are not a feed we can read (invalid XML, hostile entities, not a feed)."""

    kind = "feed"


class SourcesError(MonitorError):
    """A sources file to import, or a sources.yaml to edit, that cannot be read or written."""

    kind = "sources"


class ExtractError(MonitorError):
    kind = "extract"


class QueryError(MonitorError):
    """A rule's query does not parse; ``position`` is the 0-based offset in the query."""

    kind = "query"

    def __init__(self, message: str, query: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.query = query
        self.position = position


class DeliveryError(MonitorError):
    """A notifier could not deliver an alert.

    ``permanent`` means retrying is pointless (410 Gone, a refused recipient);
    ``retry_after`` is the receiver's own hint in seconds, if it gave one.
    """

    kind = "delivery"

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class StoreError(MonitorError):
    kind = "store"


class PageWorkerError(MonitorError):
    """A page worker process failed on one page (it crashed, or the code had a bug)."""

    kind = "internal"


class StageTooSlow(MonitorError):
    """A CPU-bound stage (extraction, matching, a large feed) overran its time budget."""

    kind = "too_slow"
