"""Jinja2 with autoescape on everywhere: article-derived text is only ever escaped.

The templates never mark anything ``|safe``; highlighted text reaches them as
(piece, marked) runs that they wrap in ``<mark>`` themselves.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from monitor.pipeline import utcnow
from monitor.text import ago as text_ago
from monitor.web import _data


def when(value: Any) -> str:
    """A stored time as pages show it (the JSON keeps ISO 8601)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return "–"
    return value.strftime("%Y-%m-%d %H:%M")


def ago(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return text_ago(value if isinstance(value, datetime) else None, utcnow(), "never")


def href(url: Any) -> str:
    """A link target: http(s) only, so a stored ``javascript:`` URL is never a link
    (the CSP would block it anyway)."""
    text = str(url or "")
    return text if text.lower().startswith(("http://", "https://")) else "#"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["ago"] = ago
    env.filters["href"] = href
    env.globals["segments"] = _data.segments
    env.globals["paragraphs"] = _data.paragraphs
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
