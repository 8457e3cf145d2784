"""Reading a sources.yaml: bytes to text, YAML to data, data to a validated ``Config``.

The YAML is composed into nodes first so that every value keeps its line; ``${VAR}``
references are then filled from the environment and the result goes through pydantic
and the cross-checks. Every problem of the file is collected and reported at once
(``InvalidConfig``), each naming the file, the line and the key, never a value: values
may be secrets once interpolated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.alerts import check_channel
from monitor.config._checks import channel_problems, cross_checks
from monitor.config._keys import known_keys
from monitor.config._schema import _CHANNEL_TYPES, DEFAULT_CONFIG, Config
from monitor.config._yaml import (
    Builder,
    Located,
    Problem,
    control_characters,
    validation_problems,
)
from monitor.errors import ConfigError
from monitor.text import collector_paused

# A sources.yaml of thousands of sources is well under a megabyte; past this, a file is
# not one (a log, a dump) and reading it would only cost time and memory.
MAX_FILE = 2**20


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when PyYAML was built with it (the pure-Python one spent 46 of
    the 63 s a config of 10k sources and 10k alerts took), and a memo of the implicit
    tag of each scalar: the same keys and values ("name", "10m") come back 100k times,
    and resolving one runs Python regexes. Both loaders give nodes with the same marks."""

    _memo_limit = 100_000

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._tags: dict[tuple[Any, ...], Any] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or not isinstance(value, str):
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            if len(self._tags) > self._memo_limit:
                self._tags.clear()
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag


class InvalidConfig(ConfigError):
    """Every problem of one file; the message lists them, one a line, by line number."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        ordered = sorted(dict.fromkeys(problems), key=lambda p: (p.line or 0, p.key))
        self.problems = tuple(ordered)
        super().__init__("\n".join(str(p) for p in self.problems))


def parse_config(
    text: str, file: str = DEFAULT_CONFIG, env: Mapping[str, str] | None = None
) -> Config:
    """Validate the text of a sources.yaml; raise ``InvalidConfig`` listing every problem."""
    # No cyclic collection while a config is read: its millions of new nodes, dicts and
    # models made each one walk everything built so far, and composing 100k sources
    # took 26 s instead of 6 (nothing built here is garbage until the load ends).
    with collector_paused():
        return _parse_config(text, file, os.environ if env is None else env)


def _parse_config(text: str, file: str, env: Mapping[str, str]) -> Config:
    raw = control_characters(text, file)
    if raw:  # YAML would stop at the first one, and without a line
        raise InvalidConfig(raw)
    root = _compose(text, file)
    if root is None:  # nothing, or only comments
        raise InvalidConfig([Problem(file, 1, "", "the file is empty: nothing to monitor")])
    builder = Builder(file, env)
    data = builder.build(root, ())
    if not isinstance(data, dict):
        raise InvalidConfig([Problem(file, 1, "", "the top level must be a mapping of keys")])
    # `x-...` keys hold YAML anchors for `<<: *name` merges (as in Docker Compose).
    data = {k: v for k, v in data.items() if not k.startswith("x-")}
    located = Located(builder.lines)
    problems = list(builder.problems)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(file, located, exc, known_keys, _CHANNEL_TYPES)
    parsed: dict[str, Any] = {}  # query text -> rules.Query, kept so it is parsed once
    problems += cross_checks(data, file, located, parsed)
    problems += channel_problems(data, file, located, check_channel)
    if problems or config is None:
        raise InvalidConfig(problems)
    config._parsed.update(parsed)
    database = env.get("MONITOR_DATABASE_URL")
    if database:
        config = config.model_copy(update={"database": database})
    return config


def _compose(text: str, file: str) -> yaml.Node | None:
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InvalidConfig([Problem(file, line, "", f"not valid YAML: {problem}")]) from None
    except RecursionError:
        raise InvalidConfig([Problem(file, None, "", "nested too deep")]) from None
    return node


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a sources.yaml file."""
    p = Path(path)
    try:
        if p.exists() and not p.is_dir() and not p.is_file():
            # A FIFO would block the open until a writer comes; a device never ends.
            raise ConfigError(f"{p}: not a regular file (a pipe or a device)")
        with p.open("rb") as f:
            data = f.read(MAX_FILE + 1)
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file (pass --config or set MONITOR_CONFIG)") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a sources.yaml file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE:
        raise ConfigError(f"{p}: larger than {MAX_FILE // 2**20} MiB: not a sources.yaml")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidConfig(
            [Problem(str(p), line, "", f"not UTF-8 (byte 0x{data[exc.start]:02x}); save as UTF-8")]
        ) from None
    return parse_config(text.removeprefix("\ufeff"), str(p), env)


def config_path(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """--config wins, then MONITOR_CONFIG, then ./sources.yaml."""
    env = os.environ if env is None else env
    return Path(explicit or env.get("MONITOR_CONFIG") or DEFAULT_CONFIG)
