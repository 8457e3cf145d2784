"""Units users write in sources.yaml: durations (``30s``, ``10m``) and sizes (``15MiB``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """``30s``, ``10m``, ``1h``, ``1d``, ``2w``, or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 1h or 1d")
    try:
        if isinstance(value, int | float):
            return timedelta(seconds=float(value))
        if isinstance(value, str):
            m = _DURATION.match(value)
            if m:
                return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    except (OverflowError, ValueError):  # 99999999999w, .inf, nan: no timedelta holds them
        raise ValueError("duration out of range (at most about 2,700 years)") from None
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
