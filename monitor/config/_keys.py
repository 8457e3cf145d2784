"""The keys sources.yaml allows at a place in the document, read from the schema itself,
so that an unknown key can be answered with the known one it is closest to."""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from monitor.config._schema import Config


def known_keys(loc: Sequence[str | int], root: type[BaseModel] = Config) -> list[str]:
    """The keys of the mapping at ``loc`` (a pydantic error location, channel type
    included), or ``[]`` when that place is not a mapping of known keys."""
    current: Any = root
    for part in loc:
        current = _step(_unwrap(current), part)
        if current is None:
            return []
    model = _unwrap(current)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [info.alias or name for name, info in model.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` to ``X``."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return tp


def _step(tp: Any, part: str | int) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin = get_origin(tp)
    if origin is tuple and isinstance(part, int):
        return get_args(tp)[0]
    if origin is dict:
        return get_args(tp)[1]
    if origin in (Union, types.UnionType):
        # A discriminated union: pydantic's location names the member by its tag.
        for member in get_args(tp):
            fields = getattr(member, "model_fields", {})
            tag = getattr(fields.get("type"), "annotation", None)
            if get_origin(tag) is Literal and part in get_args(tag):
                return member
    return None
