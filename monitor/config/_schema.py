"""sources.yaml: the schema users write, as pydantic models (frozen, unknown keys refused)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from monitor.alerts._schedule import Schedule, parse_schedule
from monitor.config._units import (
    Duration,
    OptionalDuration,
    Size,
    Strings,
    StringsOrBlank,
    WholeNumber,
    Words,
)
from monitor.text import is_loopback, redact_url, split_host_port

DEFAULT_CONFIG = "sources.yaml"
DEFAULT_DATABASE = "sqlite:///monitor.db"
MIN_INTERVAL = timedelta(seconds=30)
# Shorter tokens are guessable, and the pages blank only secrets this long (web/_security).
MIN_TOKEN = 16


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 (urlsplit checks the port only when asked)
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_name(value: str) -> str:
    if not value.strip():
        raise ValueError("a name cannot be blank")
    return value


class SourceConfig(_Model):
    name: str = Field(min_length=1)
    url: str
    kind: Literal["feed", "page", "sitemap"] = "feed"
    interval: Duration = timedelta(minutes=10)
    language: str | None = None
    tags: Strings = ()
    allow_private_networks: bool | None = None
    link_selector: str | None = None
    body_selector: str | None = None
    enabled: bool = True
    adaptive: bool = True
    max_interval: Duration | None = None
    # browser: article pages are loaded in headless Chromium and read once its scripts
    # ran (the ``browser:`` section sets the pool); html: read as served.
    render: Literal["html", "browser"] = "html"
    # The IANA zone (Europe/Paris) of dates the source's pages write without one.
    timezone: str | None = None
    # The site's home page (OPML's htmlUrl): kept for exports, never fetched.
    site: str | None = None

    def ceiling(self) -> timedelta:
        """The longest an adaptive schedule waits between polls of a quiet source."""
        if self.max_interval is not None:
            return max(self.max_interval, self.interval)
        return max(self.interval, min(self.interval * 6, timedelta(hours=6)))

    _url = field_validator("url")(_check_http_url)
    _name = field_validator("name")(_check_name)

    @field_validator("site")
    @classmethod
    def _site_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value)

    @field_validator("link_selector", "body_selector")
    @classmethod
    def _valid_selector(cls, value: str | None) -> str | None:
        if value is not None:
            from selectolax.lexbor import LexborHTMLParser

            try:
                LexborHTMLParser("<p></p>").css(value)
            except Exception:  # selectolax raises plain exceptions for bad selectors
                raise ValueError("not a valid CSS selector") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("not a known time zone (an IANA name: Europe/Paris)") from None
        return value

    @field_validator("interval")
    @classmethod
    def _min_interval(cls, value: timedelta) -> timedelta:
        if value < MIN_INTERVAL:
            raise ValueError("must be at least 30s")
        return value


class AlertConfig(_Model):
    name: str = Field(min_length=1)
    query: str = Field(min_length=1)
    notify: Strings = Field(min_length=1)
    max_age: OptionalDuration = timedelta(days=3)
    languages: Strings = ()
    sources: Strings = ()
    tags: Strings = ()
    mode: Literal["instant", "digest"] | None = None

    _name = field_validator("name")(_check_name)


class _Channel(_Model):
    """What every channel type shares: how alerts are batched and capped."""

    mode: Literal["instant", "digest"] = "instant"
    digest: str = "daily 08:00"
    timezone: str = "UTC"
    # The language of its messages; unset, each alert speaks its article's language.
    locale: Literal["fr", "en"] | None = None
    # A Jinja2 file (blocks subject/text/html) or directory replacing the bundled templates.
    template: str | None = None
    # The same for its digests (blocks or files subject/text/html over digest.j2's).
    digest_template: str | None = None
    max_per_hour: WholeNumber | None = Field(default=None, ge=1)
    # Sends in flight at once for this channel under `monitor worker` (one sender per
    # channel in the cluster); the single daemon sends one at a time.
    concurrency: WholeNumber = Field(default=4, ge=1, le=256)

    # Each checked on its own, so the error names the key's own line.
    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        parse_schedule("hourly", value)
        return value

    @field_validator("digest")
    @classmethod
    def _valid_digest(cls, value: str) -> str:
        parse_schedule(value)
        return value

    def schedule(self) -> Schedule:
        return parse_schedule(self.digest, self.timezone)

    def target(self) -> str:
        """Where this channel sends, safe to print (``monitor check``)."""
        return ""

    def secret_values(self) -> tuple[str, ...]:
        """Every value of this channel that must never be shown (pages, logs, errors).
        Each channel type says its own, where its fields are defined."""
        return ()


class LogChannel(_Channel):
    type: Literal["log"]


class SmtpConfig(_Model):
    host: str = Field(min_length=1)
    port: WholeNumber = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    timeout: float = Field(default=30.0, gt=0, le=3600)
    # A private CA's certificates (PEM) to trust for this relay, beside the system's.
    ca_file: str | None = None
    # False skips the certificate check (a lab relay with a self-signed certificate);
    # `monitor check` warns about it.
    verify: bool = True

    @field_validator("ca_file")
    @classmethod
    def _readable_ca(cls, value: str | None) -> str | None:
        if value is not None:
            import ssl

            try:
                ssl.create_default_context(cafile=value)
            except (OSError, ssl.SSLError, ValueError):
                raise ValueError("cannot load it as PEM CA certificates") from None
        return value

    @model_validator(mode="after")
    def _no_plaintext_credentials(self) -> SmtpConfig:
        if self.tls == "none" and (self.username or self.password):
            raise ValueError("credentials are never sent without TLS: use tls: starttls or ssl")
        if self.password and not self.username:
            raise ValueError("a password needs a username")
        return self


class EmailChannel(_Channel):
    type: Literal["email"]
    to: Strings = Field(min_length=1)
    from_: str = Field(alias="from", min_length=1)
    smtp: SmtpConfig
    # A str.format line ({alert}, {title}...); unset, the template's subject block.
    subject: str | None = None

    def target(self) -> str:
        return ", ".join(self.to)

    def secret_values(self) -> tuple[str, ...]:
        return (self.smtp.password,) if self.smtp.password else ()


class WebhookChannel(_Channel):
    type: Literal["webhook"]
    url: str
    secret: StringsOrBlank | None = Field(default=None, repr=False)
    allow_private_networks: bool | None = None
    timeout: float = Field(default=15.0, gt=0, le=3600)

    _url = field_validator("url")(_check_http_url)

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.secret or ()

    def target(self) -> str:
        return redact_url(self.url)

    def secret_values(self) -> tuple[str, ...]:
        # A chat webhook's URL carries its token in the query or as a password.
        parts = urlsplit(self.url)
        return (*self.secrets, *(v for v in (parts.password, parts.query) if v))


class AppriseChannel(_Channel):
    type: Literal["apprise"]
    urls: Strings = Field(min_length=1, repr=False)  # they carry tokens
    timeout: float = Field(default=30.0, gt=0, le=3600)

    def secret_values(self) -> tuple[str, ...]:
        # An Apprise URL is its tokens (schema://token/token...): an error quoting any
        # one of them must not reveal it.
        out: list[str] = []
        for url in self.urls:
            parts = urlsplit(url)
            out.extend((url, *(p for p in (parts.netloc, *parts.path.split("/")) if p)))
        return tuple(out)


ChannelConfig = Annotated[
    LogChannel | EmailChannel | WebhookChannel | AppriseChannel, Field(discriminator="type")
]


class FetchConfig(_Model):
    """Limits and manners of every request (the defaults suit public news sites)."""

    user_agent: str | None = None
    timeout: Duration = Field(default=timedelta(seconds=30), gt=timedelta(0))
    connect_timeout: Duration = Field(default=timedelta(seconds=10), gt=timedelta(0))
    max_size: Size = 15 * 2**20
    max_redirects: WholeNumber = Field(default=5, ge=0, le=20)
    per_host_concurrency: WholeNumber = Field(default=2, ge=1, le=64)
    min_delay: Duration = timedelta(seconds=1)
    # Offer HTTP/2 in the TLS handshake; a server that picks it serves every request
    # to its origin over one connection. Plain http:// stays HTTP/1.1.
    http2: bool = False

    @field_validator("user_agent")
    @classmethod
    def _one_header_line(cls, value: str | None) -> str | None:
        # A line break cannot be sent in a header: every request would fail.
        if value is not None and any(c in value for c in "\r\n"):
            raise ValueError("a User-Agent is one line")
        # `user_agent: "${UA:-}"` with UA unset means the default one.
        return value if value and value.strip() else None


class BrowserConfig(_Model):
    """The headless Chromium that ``render: browser`` sources load their pages in."""

    chromium: str = "/usr/bin/chromium"
    concurrency: WholeNumber = Field(default=2, ge=1, le=16)
    timeout: Duration = Field(default=timedelta(seconds=20), gt=timedelta(0))
    max_requests: WholeNumber = Field(default=100, ge=1, le=10_000)
    max_memory: Size = Field(default=512 * 2**20, ge=64 * 2**20)
    idle: Duration = Field(default=timedelta(seconds=60), gt=timedelta(0))


class HealthConfig(_Model):
    """Tell someone when a source has been failing for a while, and when it recovers."""

    notify: Strings = Field(min_length=1)
    after: Duration = timedelta(hours=6)


class HttpConfig(_Model):
    """The HTTP server of ``run --http`` and ``monitor web``: where it listens, and the
    bearer token its pages need (required before it may listen beyond loopback)."""

    listen: str | None = None
    token: str | None = Field(default=None, repr=False)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            split_host_port(value)
        return value

    @field_validator("token")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        # ``token: ${VAR:-}`` with VAR unset reads as no token, not as an empty one
        # that every request would match.
        if not (value and value.strip()):
            return None
        if len(value) < MIN_TOKEN:
            raise ValueError(f"a token of at least {MIN_TOKEN} characters (it guards the pages)")
        return value

    @model_validator(mode="after")
    def _token_beyond_loopback(self) -> HttpConfig:
        # The same rule `run` and `web` apply to --http (web.check_bind), found by `check`.
        if self.listen is not None and self.token is None:
            host = split_host_port(self.listen)[0]
            if not is_loopback(host):
                raise ValueError(
                    f"listening on {host or '*'} (not loopback) needs a token: set http.token"
                )
        return self


_DATABASE = re.compile(r"^(sqlite|postgres|postgresql)(\+\w+)?://", re.IGNORECASE)

_CHANNEL_TYPES = frozenset(
    get_args(m.model_fields["type"].annotation)[0]
    for m in (LogChannel, EmailChannel, WebhookChannel, AppriseChannel)
)


class Config(_Model):
    database: str = DEFAULT_DATABASE
    allow_private_networks: bool = False
    fetch: FetchConfig = FetchConfig()
    browser: BrowserConfig = BrowserConfig()
    max_concurrency: WholeNumber = Field(default=8, ge=1, le=256)
    # Child processes that read article pages and parse feeds; None: one where the
    # machine has a second core, none (a thread of the daemon) where it has one. 0:
    # always a thread.
    extract_processes: WholeNumber | None = Field(default=None, ge=0, le=64)
    retention: OptionalDuration = None
    health: HealthConfig | None = None
    http: HttpConfig = HttpConfig()
    synonyms: tuple[Words, ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    alerts: tuple[AlertConfig, ...] = ()
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    # Query text -> the rules.Query that load_config's checks parsed it into, so building
    # the rule index does not parse 100k queries a second time.
    _parsed: dict[str, Any] = PrivateAttr(default_factory=dict)

    def parsed_query(self, query: str) -> Any:
        """The ``rules.Query`` loading already parsed ``query`` into (with this config's
        synonyms), or None."""
        return self._parsed.get(query)

    @field_validator("synonyms")
    @classmethod
    def _no_empty_group(cls, value: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        if any(not group for group in value):
            raise ValueError("an empty group of synonyms")
        return value

    @field_validator("database")
    @classmethod
    def _known_database(cls, value: str) -> str:
        # Only the scheme: the store parses the rest (and never prints the password).
        if not _DATABASE.match(value):
            raise ValueError("expected sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DB")
        return value

    def page_processes(self) -> int:
        """How many page worker processes to run (``extract_processes``, or its default)."""
        if self.extract_processes is not None:
            return self.extract_processes
        return 1 if (os.cpu_count() or 1) > 1 else 0

    def source_allows_private(self, source: SourceConfig) -> bool:
        if source.allow_private_networks is not None:
            return source.allow_private_networks
        return self.allow_private_networks

    def channel_allows_private(self, channel: WebhookChannel) -> bool:
        if channel.allow_private_networks is not None:
            return channel.allow_private_networks
        return self.allow_private_networks


def json_schema() -> dict[str, Any]:
    """The JSON Schema of sources.yaml (``monitor schema``; editors validate with it)."""
    schema = Config.model_json_schema(by_alias=True, mode="validation")
    schema["patternProperties"] = {"^x-": {}}  # anchors for `<<:` merges, ignored
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "news-monitor sources.yaml",
        **schema,
    }
