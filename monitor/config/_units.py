"""Units users write in sources.yaml: durations (``30s``, ``10m``) and sizes (``15MiB``),
and the string lists that also take one string (``to: veille@example.org``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# A poll scheduled past year 9999 overflows datetime; nothing here needs a century.
MAX_DURATION = timedelta(days=36500)
MAX_SIZE = 2**40  # 1 TiB: far past any page, and still an integer every layer holds
_DURATION_HINT = "expected a duration such as 30s, 10m, 1h or 1d"
_TOO_LONG = "duration out of range (at most 100 years)"


def parse_duration(value: object) -> timedelta:
    """``30s``, ``10m``, ``1h``, ``1d``, ``2w``, or a number of seconds; 0 to 100 years."""
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, bool):
        raise ValueError(_DURATION_HINT)
    elif isinstance(value, int | float):
        seconds = float(value)
        if seconds != seconds or abs(seconds) > MAX_DURATION.total_seconds():  # nan, inf
            raise ValueError(_TOO_LONG)
        delta = timedelta(seconds=seconds)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        # Compared as an integer first: 99999999999w would overflow timedelta itself.
        seconds_int = int(m.group(1)) * _UNITS[m.group(2)]
        if seconds_int > MAX_DURATION.total_seconds():
            raise ValueError(_TOO_LONG)
        delta = timedelta(seconds=seconds_int)
    else:
        raise ValueError(_DURATION_HINT)
    if delta < timedelta(0):
        raise ValueError("a duration cannot be negative")
    if delta > MAX_DURATION:
        raise ValueError(_TOO_LONG)
    return delta


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
    """``15MiB``, ``500KB``, or a number of bytes: at least 1 byte, at most 1 TiB."""
    size: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (m := _SIZE.match(value)):
        size = int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    if size is None:
        raise ValueError("expected a size such as 15MiB, 500KB or a number of bytes")
    if not 0 < size <= MAX_SIZE:
        raise ValueError("a size must be at least 1 byte and at most 1 TiB")
    return size


def _one_or_many(value: object) -> object:
    # `to: veille@example.org` means the list of that one address.
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple):
        raise ValueError("expected a string or a list of strings")
    return value


def _not_blank(items: tuple[str, ...]) -> tuple[str, ...]:
    if any(not item.strip() for item in items):
        raise ValueError("an empty string in the list")
    return items


def _no_bool(value: object) -> object:
    # YAML's `true` is not the number 1 a port or a count means.
    if isinstance(value, bool):
        raise ValueError("expected a whole number, not true/false")
    return value


_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\d+\s*[smhdw]\s*$"},
        {"type": "number", "minimum": 0},
    ],
    "description": "a duration: 30s, 10m, 1h, 1d, 2w, or a number of seconds",
}
_SIZE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"(?i)^\s*\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$"},
        {"type": "integer", "minimum": 1},
    ],
    "description": "a size: 500KB, 15MiB, or a number of bytes",
}
_STRINGS_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}},
    ],
    "description": "a string, or a list of strings",
}

Duration = Annotated[timedelta, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
Size = Annotated[int, BeforeValidator(parse_size), WithJsonSchema(_SIZE_SCHEMA)]
OptionalDuration = Annotated[
    timedelta | None,
    BeforeValidator(_optional_duration),
    WithJsonSchema({"anyOf": [_DURATION_SCHEMA, {"type": "null"}, {"const": "none"}]}),
]
Strings = Annotated[
    tuple[str, ...],
    BeforeValidator(_one_or_many),
    AfterValidator(_not_blank),
    WithJsonSchema(_STRINGS_SCHEMA),
]
WholeNumber = Annotated[int, BeforeValidator(_no_bool)]
# The same, blanks kept: a webhook's `secret: "${VAR:-}"` is a channel kept ready.
StringsOrBlank = Annotated[
    tuple[str, ...], BeforeValidator(_one_or_many), WithJsonSchema(_STRINGS_SCHEMA)
]
# A list that must be written as one (a group of synonyms: a bare word is a mistake).
Words = Annotated[tuple[str, ...], AfterValidator(_not_blank)]
