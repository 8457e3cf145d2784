"""sources.yaml: the schema users write, validated at the boundary.

The YAML is composed into nodes first so that every value keeps its line; ``${VAR}``
references are then filled from the environment and the result goes through pydantic.
Every error names the file, the line and the key, and never echoes a value: values may
be secrets once interpolated.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor._yamlconf import Builder, Located, format_loc, validation_message
from monitor.digest import Schedule, parse_schedule
from monitor.errors import ConfigError, QueryError

DEFAULT_CONFIG = "sources.yaml"
DEFAULT_DATABASE = "sqlite:///monitor.db"
MIN_INTERVAL = timedelta(seconds=30)

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """``30s``, ``10m``, ``1h``, ``1d``, ``2w``, or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 1h or 1d")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    raise ValueError("expected a duration such as 30s, 10m, 1h or 1d")


def _optional_duration(value: object) -> timedelta | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return None
    return parse_duration(value)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.I)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 10**6,
    "mib": 2**20,
    "gb": 10**9,
    "gib": 2**30,
}


def parse_size(value: object) -> int:
    """``15MiB``, ``500KB``, or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    raise ValueError("expected a size such as 15MiB, 500KB or a number of bytes")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
OptionalDuration = Annotated[timedelta | None, BeforeValidator(_optional_duration)]


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Model):
    name: str = Field(min_length=1)
    url: str
    kind: Literal["feed", "page"] = "feed"
    interval: Duration = timedelta(minutes=10)
    language: str | None = None
    tags: tuple[str, ...] = ()
    allow_private_networks: bool | None = None
    link_selector: str | None = None
    body_selector: str | None = None
    enabled: bool = True
    adaptive: bool = True
    max_interval: Duration | None = None

    def ceiling(self) -> timedelta:
        """The longest an adaptive schedule waits between polls of a quiet source."""
        if self.max_interval is not None:
            return max(self.max_interval, self.interval)
        return max(self.interval, min(self.interval * 6, timedelta(hours=6)))

    _url = field_validator("url")(_check_http_url)

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

    @field_validator("interval")
    @classmethod
    def _min_interval(cls, value: timedelta) -> timedelta:
        if value < MIN_INTERVAL:
            raise ValueError("must be at least 30s")
        return value


class AlertConfig(_Model):
    name: str = Field(min_length=1)
    query: str = Field(min_length=1)
    notify: tuple[str, ...] = Field(min_length=1)
    max_age: OptionalDuration = timedelta(days=3)
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    mode: Literal["instant", "digest"] | None = None


class _Channel(_Model):
    """What every channel type shares: how alerts are batched and capped."""

    mode: Literal["instant", "digest"] = "instant"
    digest: str = "daily 08:00"
    timezone: str = "UTC"
    max_per_hour: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _valid_schedule(self) -> _Channel:
        parse_schedule(self.digest, self.timezone)
        return self

    def schedule(self) -> Schedule:
        return parse_schedule(self.digest, self.timezone)


class LogChannel(_Channel):
    type: Literal["log"]


class SmtpConfig(_Model):
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    timeout: float = 30.0

    @model_validator(mode="after")
    def _no_plaintext_credentials(self) -> SmtpConfig:
        if self.tls == "none" and (self.username or self.password):
            raise ValueError("credentials are never sent without TLS: use tls: starttls or ssl")
        if self.password and not self.username:
            raise ValueError("a password needs a username")
        return self


class EmailChannel(_Channel):
    type: Literal["email"]
    to: tuple[str, ...] = Field(min_length=1)
    from_: str = Field(alias="from")
    smtp: SmtpConfig
    subject: str = "[{alert}] {title}"


class WebhookChannel(_Channel):
    type: Literal["webhook"]
    url: str
    secret: str | tuple[str, ...] | None = Field(default=None, repr=False)
    allow_private_networks: bool | None = None
    timeout: float = 15.0

    _url = field_validator("url")(_check_http_url)

    @property
    def secrets(self) -> tuple[str, ...]:
        if self.secret is None:
            return ()
        return (self.secret,) if isinstance(self.secret, str) else self.secret


class AppriseChannel(_Channel):
    type: Literal["apprise"]
    urls: tuple[str, ...] = Field(min_length=1, repr=False)  # they carry tokens
    timeout: float = 30.0


ChannelConfig = Annotated[
    LogChannel | EmailChannel | WebhookChannel | AppriseChannel, Field(discriminator="type")
]


class FetchConfig(_Model):
    """Limits and manners of every request (the defaults suit public news sites)."""

    user_agent: str | None = None
    timeout: Duration = timedelta(seconds=30)
    connect_timeout: Duration = timedelta(seconds=10)
    max_size: Size = 15 * 2**20
    max_redirects: int = Field(default=5, ge=0, le=20)
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    min_delay: Duration = timedelta(seconds=1)


class HealthConfig(_Model):
    """Tell someone when a source has been failing for a while, and when it recovers."""

    notify: tuple[str, ...] = Field(min_length=1)
    after: Duration = timedelta(hours=6)


_CHANNEL_TYPES = frozenset(
    get_args(m.model_fields["type"].annotation)[0]
    for m in (LogChannel, EmailChannel, WebhookChannel, AppriseChannel)
)


class Config(_Model):
    database: str = DEFAULT_DATABASE
    allow_private_networks: bool = False
    fetch: FetchConfig = FetchConfig()
    max_concurrency: int = Field(default=8, ge=1, le=256)
    retention: OptionalDuration = None
    health: HealthConfig | None = None
    synonyms: tuple[tuple[str, ...], ...] = ()
    sources: tuple[SourceConfig, ...] = ()
    alerts: tuple[AlertConfig, ...] = ()
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)

    def source_allows_private(self, source: SourceConfig) -> bool:
        if source.allow_private_networks is not None:
            return source.allow_private_networks
        return self.allow_private_networks

    def channel_allows_private(self, channel: WebhookChannel) -> bool:
        if channel.allow_private_networks is not None:
            return channel.allow_private_networks
        return self.allow_private_networks


def _cross_checks(config: Config, file: str, located: Located) -> list[str]:
    problems: list[str] = []

    def at(path: tuple[str | int, ...], msg: str) -> None:
        line = located.line_of(path)
        problems.append(f"{file}:{line}: {format_loc(path)}: {msg}")

    seen: dict[str, int] = {}
    for i, source in enumerate(config.sources):
        if source.name in seen:
            at(
                ("sources", i, "name"),
                f"duplicate source name (first at sources[{seen[source.name]}])",
            )
        seen.setdefault(source.name, i)
    seen = {}
    for i, alert in enumerate(config.alerts):
        if alert.name in seen:
            at(("alerts", i, "name"), f"duplicate alert name (first at alerts[{seen[alert.name]}])")
        seen.setdefault(alert.name, i)
        for j, channel in enumerate(alert.notify):
            if channel not in config.channels:
                at(("alerts", i, "notify", j), f"no channel named {channel!r} in channels")
        for j, name in enumerate(alert.sources):
            if name not in {s.name for s in config.sources}:
                at(("alerts", i, "sources", j), f"no source named {name!r} in sources")
        problem = _query_problem(alert.query, config.synonyms)
        if problem:
            at(("alerts", i, "query"), problem)
    if config.health is not None:
        for j, channel in enumerate(config.health.notify):
            if channel not in config.channels:
                at(("health", "notify", j), f"no channel named {channel!r} in channels")
    return problems


def _query_problem(query: str, synonyms: Sequence[Sequence[str]]) -> str | None:
    from monitor.rules import parse_query  # the rules package is pure; import on use

    try:
        parse_query(query, synonyms)
    except QueryError as exc:
        return f"invalid query: {exc}"
    return None


def parse_config(
    text: str, file: str = DEFAULT_CONFIG, env: Mapping[str, str] | None = None
) -> Config:
    """Validate the text of a sources.yaml; raise ConfigError listing every problem found."""
    env = os.environ if env is None else env
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{file}{line}: {problem}") from None
    builder = Builder(file, env)
    data = {} if root is None else builder.build(root, ())
    located = Located(builder.lines)
    if not isinstance(data, dict):
        raise ConfigError(f"{file}:1: the top level must be a mapping of keys")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(file, located, exc, _CHANNEL_TYPES)) from None
    problems = _cross_checks(config, file, located)
    if problems:
        raise ConfigError("\n".join(problems))
    database = env.get("MONITOR_DATABASE_URL")
    if database:
        config = config.model_copy(update={"database": database})
    return config


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a sources.yaml file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file (pass --config or set MONITOR_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    return parse_config(text, str(p), env)


def config_path(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """--config wins, then MONITOR_CONFIG, then ./sources.yaml."""
    env = os.environ if env is None else env
    return Path(explicit or env.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def summarize(config: Config) -> str:
    """A short human summary for ``monitor check``."""
    out = [f"database: {redact_url(config.database)}"]
    out.append(f"{len(config.sources)} source(s):")
    for s in config.sources:
        every = _format_duration(s.interval)
        state = "" if s.enabled else " (disabled)"
        out.append(f"  {s.name:<24} {s.kind:<4} every {every:<5} {s.url}{state}")
    out.append(f"{len(config.alerts)} alert(s):")
    for a in config.alerts:
        out.append(f"  {a.name:<24} {a.query!r} -> {', '.join(a.notify)}")
    out.append(f"{len(config.channels)} channel(s):")
    for name, ch in config.channels.items():
        target = ""
        if isinstance(ch, EmailChannel):
            target = ", ".join(ch.to)
        elif isinstance(ch, WebhookChannel):
            target = redact_url(ch.url)
        out.append(f"  {name:<24} {ch.type:<7} {target}")
    return "\n".join(out)


def _format_duration(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def redact_url(url: str) -> str:
    """Drop a password from a URL before it is printed or logged."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
