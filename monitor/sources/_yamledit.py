"""sources.yaml edited in place: new sources appended, everything else left as written.

A user's sources.yaml carries comments, its own key order, flow lists and quoting; a
plain YAML dump would lose all of it. ruamel.yaml's round-trip mode keeps them, and the
file's own indentation is measured and reused. As a last check, the new text must hold
every line of the old one, in order: when ruamel would have to reflow something, the
edit is refused (the entries are printed for the user to paste) rather than made.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from monitor.dedupe import url_key
from monitor.errors import SourcesError

# The offset of the sources list's dashes, else of any list's.
_SOURCES_DASH = re.compile(r"^sources:[ \t]*(?:#.*)?\n(?:[ \t]*(?:#.*)?\n)*( *)- ", re.MULTILINE)
_DASH = re.compile(r"^( *)- ", re.MULTILINE)
_NESTED = re.compile(r"^[A-Za-z_][\w-]*:\s*(?:#.*)?\n( +)[A-Za-z_\"']", re.MULTILINE)
_EMPTY_LIST = re.compile(r"^sources:\s*(?:\[\s*\])?\s*(?:#.*)?$")
# Keys in the order a person writes them; the rest keep the order they were given.
_ORDER = ("name", "url", "kind", "interval", "language", "tags", "site")


def feed_key(url: str) -> str:
    """Two spellings of one feed URL (scheme, ``www.``, tracking tags aside) share it."""
    return url_key(url)


def _yaml(text: str) -> YAML:
    yaml = YAML()  # round-trip
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line the user wrote on one
    dash = _SOURCES_DASH.search(text) or _DASH.search(text)
    nested = _NESTED.search(text)
    offset = len(dash.group(1)) if dash else 2
    mapping = len(nested.group(1)) if nested else 2
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


class SourcesFile:
    """A sources.yaml (or one to be created) and the sources it lists."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.text = path.read_text(encoding="utf-8") if path.exists() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise SourcesError(f"{path}: cannot read: {exc}") from None
        self._yaml = _yaml(self.text)
        try:
            data = self._yaml.load(self.text) if self.text.strip() else None
        except YAMLError as exc:
            raise SourcesError(f"{path}: not valid YAML: {exc}") from None
        if data is None:
            data = CommentedMap()
        if not isinstance(data, CommentedMap):
            raise SourcesError(f"{path}: the top level must be a mapping of keys")
        self.data = data
        listed = data.get("sources")
        if listed is not None and not isinstance(listed, CommentedSeq):
            raise SourcesError(f"{path}: 'sources' must be a list")
        self._list = listed

    def sources(self) -> list[Mapping[str, Any]]:
        return [s for s in (self._list or []) if isinstance(s, Mapping)]

    def names(self) -> set[str]:
        return {str(s["name"]) for s in self.sources() if "name" in s}

    def by_key(self) -> dict[str, str]:
        """url key of each source's URL -> its name: how duplicates are recognised."""
        return {
            feed_key(str(s["url"])): str(s.get("name", "?")) for s in self.sources() if "url" in s
        }

    def unique_name(self, wanted: str, taken: set[str]) -> str:
        name, n = wanted, 2
        while name in taken:
            name, n = f"{wanted}-{n}", n + 1
        return name

    def render(self, entries: Sequence[Mapping[str, Any]]) -> str:
        """The file's text with ``entries`` appended to its sources.

        A block list with items gets the new entries as text, inserted after its last
        item: every byte of the file stays where it was. Otherwise (no list yet, or a
        flow one) ruamel dumps the whole document, under the no-reformatting check.
        """
        listed = self._list
        before = len(self.sources())
        if listed is not None and len(listed) and not listed.fa.flow_style():
            text = self._inserted(entries)
        else:
            text = self._dumped(entries)
        _check_kept(self.path, self.text, text)
        _check_added(self.path, self._yaml, text, before, entries)
        return text

    def _inserted(self, entries: Sequence[Mapping[str, Any]]) -> str:
        lines = self.text.splitlines(keepends=True)
        keys = list(self.data)
        after = keys[keys.index("sources") + 1 :]
        end = self.data.lc.key(after[0])[0] if after else len(lines)
        # Blank lines and column-0 comments before the next key belong to that key.
        while end > 0 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1
        if lines and end and not lines[end - 1].endswith("\n"):
            lines[end - 1] += "\n"
        block = CommentedSeq(_entry(e) for e in entries)
        out = io.StringIO()
        self._yaml.dump(CommentedMap(sources=block), out)
        added = out.getvalue().split("\n", 1)[1]  # without its "sources:" line
        return "".join(lines[:end]) + added + "".join(lines[end:])

    def _dumped(self, entries: Sequence[Mapping[str, Any]]) -> str:
        if self._list is None:
            self._list = CommentedSeq()
            self.data["sources"] = self._list
        self._list.fa.set_block_style()
        for entry in entries:
            self._list.append(_entry(entry))
        out = io.StringIO()
        self._yaml.dump(self.data, out)
        return out.getvalue()

    def write(self, text: str) -> None:
        """Replace the file atomically: a crash leaves the old file or the new, never half."""
        folder = self.path.parent if str(self.path.parent) else Path(".")
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise SourcesError(f"{self.path}: cannot write: {exc}") from None


def dump_entries(entries: Iterable[Mapping[str, Any]]) -> str:
    """New entries as the YAML a user would paste under ``sources:``."""
    yaml = _yaml("")
    yaml.width = 4096
    out = io.StringIO()
    seq = CommentedSeq(_entry(e) for e in entries)
    yaml.dump(CommentedMap(sources=seq), out)
    return out.getvalue()


def _entry(entry: Mapping[str, Any]) -> CommentedMap:
    keys = [k for k in _ORDER if k in entry] + [k for k in entry if k not in _ORDER]
    node = CommentedMap()
    for key in keys:
        value = entry[key]
        if isinstance(value, list | tuple):
            seq = CommentedSeq(value)
            seq.fa.set_flow_style()
            value = seq
        node[key] = value
    return node


def _check_added(
    path: Path, yaml: YAML, text: str, before: int, entries: Sequence[Mapping[str, Any]]
) -> None:
    """The new text parses, and its sources are the old ones followed by ``entries``."""
    try:
        listed = yaml.load(text).get("sources") or []
    except (YAMLError, AttributeError) as exc:
        raise SourcesError(f"{path}: the edit would not parse ({exc}); nothing written") from None
    names = [str(s.get("name")) for s in listed[before:] if isinstance(s, Mapping)]
    if len(listed) != before + len(entries) or names != [str(e["name"]) for e in entries]:
        raise SourcesError(f"{path}: the edit did not come out as expected; nothing written")


def _check_kept(path: Path, before: str, after: str) -> None:
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        # ``sources: []`` (or ``sources:`` alone) becomes a block list: that line may go.
        if tag == "replace" and all(_EMPTY_LIST.match(line) for line in old[i1:i2]):
            continue
        if tag in ("delete", "replace"):
            raise SourcesError(
                f"{path}:{i1 + 1}: adding sources would reformat this line; nothing was "
                "written (use --print and paste the entries by hand)"
            )
