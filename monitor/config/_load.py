"""Reading a sources.yaml: YAML to data, data to a validated ``Config``, cross-checks.

The YAML is composed into nodes first so that every value keeps its line; ``${VAR}``
references are then filled from the environment and the result goes through pydantic.
Every error names the file, the line and the key, and never echoes a value: values may
be secrets once interpolated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import yaml
from pydantic import ValidationError

from monitor.alerts import check_channel
from monitor.config._schema import (
    _CHANNEL_TYPES,
    DEFAULT_CONFIG,
    Config,
)
from monitor.config._yaml import Builder, Located, format_loc, validation_message
from monitor.errors import ConfigError, QueryError
from monitor.text import redact_url


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


def _channel_problems(config: Config, file: str, located: Located) -> list[str]:
    """What each channel's notifier would refuse at start, found now: one round of errors."""
    problems = []
    for name, channel in config.channels.items():
        try:
            check_channel(channel)
        except ConfigError as exc:
            line = located.line_of(("channels", name))
            problems.append(f"{file}:{line}: {format_loc(('channels', name))}: {exc}")
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
    problems = _cross_checks(config, file, located) + _channel_problems(config, file, located)
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
        out.append(f"  {s.name:<24} {s.kind:<4} every {every:<5} {redact_url(s.url)}{state}")
    out.append(f"{len(config.alerts)} alert(s):")
    for a in config.alerts:
        out.append(f"  {a.name:<24} {a.query!r} -> {', '.join(a.notify)}")
    out.append(f"{len(config.channels)} channel(s):")
    for name, ch in config.channels.items():
        target = ch.target()
        out.append(f"  {name:<24} {ch.type:<7} {target}")
    return "\n".join(out)


def _format_duration(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
