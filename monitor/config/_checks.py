"""What the schema alone cannot see: names that must exist or be unique, queries that
must parse, channels whose notifier must accept its settings.

The checks read the built data rather than a validated ``Config``, so that they run
even when another part of the file is invalid: one ``monitor check`` lists every mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from monitor.config._schema import ChannelConfig
from monitor.config._yaml import Located, Problem, did_you_mean, format_loc
from monitor.errors import ConfigError, QueryError

Path = tuple[str | int, ...]
_CHANNEL = TypeAdapter[Any](ChannelConfig)


def cross_checks(
    data: dict[str, Any], file: str, located: Located, parsed: dict[str, Any]
) -> list[Problem]:
    """Problems across keys; each query parsed is kept in ``parsed`` (text -> Query)."""
    problems: list[Problem] = []

    def at(path: Path, msg: str) -> None:
        problems.append(Problem(file, located.line_of(path), format_loc(path), msg))

    sources = _items(data.get("sources"))
    alerts = _items(data.get("alerts"))
    channels = data.get("channels")
    channel_names = [str(k) for k in channels] if isinstance(channels, dict) else []
    source_names = _unique_names(sources, "sources", "source", at)
    _unique_names(alerts, "alerts", "alert", at)
    synonyms = _synonyms(data.get("synonyms"))
    for i, alert in alerts:
        _refs(alert.get("notify"), ("alerts", i, "notify"), channel_names, "channel", at)
        _refs(alert.get("sources"), ("alerts", i, "sources"), source_names, "source", at)
        query = alert.get("query")
        if isinstance(query, str) and query.strip():
            problem = _query_problem(query, synonyms, parsed)
            if problem:
                at(("alerts", i, "query"), problem)
    health = data.get("health")
    if isinstance(health, dict):
        _refs(health.get("notify"), ("health", "notify"), channel_names, "channel", at)
    return problems


def channel_problems(
    data: dict[str, Any], file: str, located: Located, check: Callable[[Any], None]
) -> list[Problem]:
    """What each channel's notifier would refuse at start, found now. A channel the
    schema already refused is left to the schema's own messages."""
    channels = data.get("channels")
    if not isinstance(channels, dict):
        return []
    problems = []
    for name, raw in channels.items():
        try:
            channel = _CHANNEL.validate_python(raw)
        except ValidationError:
            continue
        try:
            check(channel)
        except ConfigError as exc:
            path = ("channels", name)
            problems.append(Problem(file, located.line_of(path), format_loc(path), str(exc)))
    return problems


def _items(value: object) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _unique_names(
    items: list[tuple[int, dict[str, Any]]], section: str, what: str,
    at: Callable[[Path, str], None],
) -> list[str]:  # fmt: skip
    seen: dict[str, int] = {}
    for i, item in items:
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            at((section, i, "name"), f"duplicate {what} name (first at {section}[{seen[name]}])")
        seen.setdefault(name, i)
    return list(seen)


def _refs(
    value: object, path: Path, known: Sequence[str], what: str,
    at: Callable[[Path, str], None],
) -> None:  # fmt: skip
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    for j, name in enumerate(names):
        if isinstance(name, str) and name.strip() and name not in known:
            where = path if isinstance(value, str) else (*path, j)
            hint = did_you_mean(name, known)
            at(where, f"no {what} named {name!r} in {what}s{hint}")


def _synonyms(value: object) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list):
        return ()
    groups = [g for g in value if isinstance(g, list) and all(isinstance(w, str) for w in g)]
    return tuple(tuple(g) for g in groups)


def _query_problem(
    query: str, synonyms: Sequence[Sequence[str]], parsed: dict[str, Any]
) -> str | None:
    from monitor.rules import parse_query  # the rules package is pure; import on use

    if query in parsed:
        return None
    try:
        parsed[query] = parse_query(query, synonyms)
    except QueryError as exc:
        return f"invalid query: {exc}"
    except RecursionError:  # the rules package caps nesting; this is the last guard
        return "invalid query: nested too deep"
    return None
