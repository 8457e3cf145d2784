"""Reading sources.yaml: YAML nodes to plain data, keeping each value's line.

``${VAR}`` and ``${VAR:-default}`` are filled in from the environment on the way, and
validation errors are turned into lines that name the file, the line and the key, never
the value (values may be secrets once interpolated).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Located:
    """Where a value came from, keyed by its path in the document."""

    lines: Mapping[tuple[str | int, ...], int]

    def line_of(self, path: Sequence[str | int]) -> int | None:
        # Walk up until a recorded ancestor: pydantic may point inside a value
        # (a union member, say) that has no node of its own.
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)


def format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


class Builder:
    """Turns composed YAML nodes into plain data, recording lines and filling ${VAR}."""

    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.lines: dict[tuple[str | int, ...], int] = {}
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in out:
                    line = key_node.start_mark.line + 1
                    where = format_loc((*path, key))
                    raise ConfigError(f"{self.file}:{line}: {where}: duplicate key")
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        # Plain scalars were already tagged by the composer (int, bool, null...);
        # constructing them here keeps YAML's own typing.
        value = self._constructor.construct_object(node, deep=True)
        if isinstance(value, str):
            return self._interpolate(value, path, node.start_mark.line + 1)
        return value

    def _interpolate(self, text: str, path: tuple[str | int, ...], line: int) -> str:
        def fill(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            where = format_loc(path)
            raise ConfigError(
                f"{self.file}:{line}: {where}: environment variable {name} is not set"
            )

        return _ENV_REF.sub(fill, text)


def validation_message(
    file: str, located: Located, err: ValidationError, tags: frozenset[str] = frozenset()
) -> str:
    """One line per error; ``tags`` are union discriminators pydantic puts in locations
    (``channels.hook.webhook.url``), left out so the path reads as the user wrote it."""
    lines = []
    for e in err.errors(include_input=False, include_url=False):
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p in tags)]
        line = located.line_of(loc)
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        where = f"{file}:{line}" if line else file
        lines.append(f"{where}: {format_loc(loc)}: {msg}")
    return "\n".join(lines)
