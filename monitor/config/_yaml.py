"""Reading sources.yaml: YAML nodes to plain data, keeping each value's line.

``${VAR}`` and ``${VAR:-default}`` are filled in from the environment on the way, and
validation errors are turned into lines that name the file, the line and the key, never
the value (values may be secrets once interpolated).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
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


@dataclass(frozen=True)
class Problem:
    """One mistake in a file: where it is and what is wrong (never the value itself)."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


# Nothing in sources.yaml nests deeper than a handful of levels; the caps keep a hostile
# file (deep nesting, an alias bomb expanding a few lines into billions of values) from
# exhausting the stack or the memory.
MAX_DEPTH = 32
MAX_VALUES = 100_000
# C0 controls (but tab, LF, CR) and DEL: no setting means one, and a NUL in a value
# would be cut short by C libraries (headers, SMTP, SQLite).
_PLAIN = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Builder:
    """Turns composed YAML nodes into plain data, recording lines and filling ${VAR}.

    Problems (a duplicate key, an unset variable, a control character) are collected
    in ``problems`` rather than raised, so that one run reports all of them."""

    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.lines: dict[tuple[str | int, ...], int] = {}
        self.problems: list[Problem] = []
        self._values = 0
        self._constructor = yaml.constructor.SafeConstructor()

    def _problem(self, line: int, path: Sequence[str | int], message: str) -> None:
        self.problems.append(Problem(self.file, line, format_loc(path), message))

    def build(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:
        line = node.start_mark.line + 1
        self.lines[path] = line
        self._values += 1
        if self._values > MAX_VALUES:
            raise ConfigError(
                f"{self.file}:{line}: more than {MAX_VALUES:,} values (YAML aliases expanding?)"
            )
        if len(path) > MAX_DEPTH:
            raise ConfigError(f"{self.file}:{line}: {format_loc(path)}: nested too deep")
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN:
            # !!python/object and friends: no setting is one; never build what it names.
            self._problem(line, path, "a YAML tag (!!...) is not allowed here")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        # Plain scalars were already tagged by the composer (int, bool, null...);
        # constructing them here keeps YAML's own typing.
        try:
            value = self._constructor.construct_object(node, deep=True)
        except Exception:  # PyYAML's constructors fail in many ways (`!!timestamp nope`)
            self._problem(line, path, "not a value YAML can read")
            return None
        if isinstance(value, str):
            if _CONTROL.search(value):
                self._problem(line, path, "contains a control character (NUL, ESC...)")
            return self._interpolate(value, path, line)
        return value

    def _mapping(self, node: yaml.MappingNode, path: tuple[str | int, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: list[tuple[yaml.Node, tuple[str | int, ...]]] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                merged += [(m, path) for m in sources]
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(line, path, "a key must be a plain word, not a list or mapping")
                continue
            key = str(key_node.value)
            if key in out:
                self._problem(line, (*path, key), "duplicate key (the first one is kept)")
                continue
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key))
        # Merged mappings give defaults: the keys written here win, as in YAML 1.1.
        for source, at in merged:
            if not isinstance(source, yaml.MappingNode):
                self._problem(source.start_mark.line + 1, at, "`<<` must merge a mapping")
                continue
            for key, value in self._mapping(source, at).items():
                out.setdefault(key, value)
        return out

    def _interpolate(self, text: str, path: tuple[str | int, ...], line: int) -> str:
        def fill(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            self._problem(line, path, f"environment variable {name} is not set")
            return ""

        return _ENV_REF.sub(fill, text)


def control_characters(text: str, file: str) -> list[Problem]:
    """Control characters in the raw text, by line and column (YAML itself would only
    say it cannot read the file)."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        m = _CONTROL.search(line)
        if m:
            code = f"U+{ord(m.group()):04X}"
            out.append(
                Problem(file, number, "", f"column {m.start() + 1}: control character {code}")
            )
    return out


def validation_problems(
    file: str,
    located: Located,
    err: ValidationError,
    known: Callable[[Sequence[str | int]], Sequence[str]],
    tags: frozenset[str] = frozenset(),
) -> list[Problem]:
    """One problem per error. ``tags`` are the channel types pydantic puts in locations
    (``channels.hook.webhook.url``), left out so the path reads as the user wrote it;
    ``known(loc)`` gives the keys allowed beside an unknown one, for a "did you mean"."""
    out = []
    for e in err.errors(include_input=False, include_url=False):
        raw = list(e["loc"])
        loc = [p for i, p in enumerate(raw) if not (i == 2 and raw[0] == "channels" and p in tags)]
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key" + did_you_mean(str(raw[-1]), known(raw[:-1]))
        elif e["type"] == "union_tag_invalid":
            msg = "unknown channel type" + did_you_mean(_tag_of(e), sorted(tags))
            msg += f" (one of {', '.join(sorted(tags))})"
        elif e["type"] in _PLAIN_WORDS:
            msg = _PLAIN_WORDS[e["type"]].format(tags=", ".join(sorted(tags)))
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append(Problem(file, located.line_of(loc), format_loc(loc), msg))
    return out


# pydantic's words for a wrong shape, in the words of a YAML file.
_PLAIN_WORDS = {
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "too_short": "cannot be empty",
    "union_tag_not_found": "a channel needs a type (one of {tags})",
}


def _tag_of(error: Any) -> str:
    ctx = error.get("ctx") or {}
    return str(ctx.get("tag", ""))


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``: did you mean 'interval'?`` for a near-miss of a known word, else nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
