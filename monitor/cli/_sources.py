"""``monitor sources import | export | add``: sources as users have them.

Every write goes through ``SourcesFile``: new entries are appended to sources.yaml and
nothing else in it changes. A source already present (the same feed URL, as
``dedupe.url_key`` spells it: scheme, ``www.``, tracking tags and trailing slash aside)
is reported, never added twice.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.cli._table import scrub, table
from monitor.config import Config, SourceConfig, load_config
from monitor.errors import MonitorError, SourcesError
from monitor.sources import (
    Found,
    OpmlFeed,
    SourcesFile,
    discover,
    dump_entries,
    feed_key,
    read_opml,
    slug,
    write_opml,
)
from monitor.text import host_of, site_of

EXIT_FAILED = 1


def _config(path: Path) -> Config | None:
    """The config when the file exists (its ``fetch:`` and address rules apply); a
    missing file is created by the first import or add."""
    return load_config(path) if path.exists() else None


def import_opml(path: Path, file: str, *, print_only: bool, extra_tags: Sequence[str]) -> int:
    """Merge the feeds of an OPML file into sources.yaml (or print them)."""
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise SourcesError(f"{file}: cannot read: {exc.strerror or exc}") from None
    feeds = read_opml(data, file)
    target = SourcesFile(path)
    known = target.by_key()
    taken = target.names()
    new: list[dict[str, Any]] = []
    duplicates: list[str] = []
    skipped: list[str] = []
    for feed in feeds:
        entry = _entry_of(feed, extra_tags, target, taken)
        problem = _invalid(entry)
        if problem:
            skipped.append(f"{feed.url}: {problem}")
            continue
        key = feed_key(feed.url)
        if key in known:
            duplicates.append(f"{feed.url} (already there as {known[key]})")
            continue
        known[key] = entry["name"]
        taken.add(entry["name"])
        new.append(entry)
    if print_only:
        if new:
            print(dump_entries(new), end="")
    elif new:
        target.write(target.render(new))
    _report(path, file, len(new), duplicates, skipped, print_only)
    return 0


def _entry_of(
    feed: OpmlFeed, extra_tags: Sequence[str], target: SourcesFile, taken: set[str]
) -> dict[str, Any]:
    name = target.unique_name(slug(feed.title or site_of(host_of(feed.url))), taken)
    entry: dict[str, Any] = {"name": name, "url": feed.url}
    tags = list(dict.fromkeys([*feed.tags, *extra_tags]))
    if tags:
        entry["tags"] = tags
    if feed.site:
        entry["site"] = feed.site
    return entry


def _invalid(entry: Mapping[str, Any]) -> str | None:
    try:
        SourceConfig.model_validate(dict(entry))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
    return None


def _report(
    path: Path, file: str, added: int, dups: list[str], skipped: list[str], print_only: bool
) -> None:
    err = sys.stderr
    verb = "to add (printed, nothing written)" if print_only else f"added to {path}"
    print(f"{file}: {added} source{'s' * (added != 1)} {verb}", file=err)
    if dups:
        print(f"{len(dups)} already present, not added:", file=err)
        for line in dups:
            print(f"  {scrub(line)}", file=err)
    if skipped:
        print(f"{len(skipped)} skipped:", file=err)
        for line in skipped:
            print(f"  {scrub(line)}", file=err)


def export_opml(path: Path, output: str | None) -> int:
    """The config's feed sources as OPML 2.0, to ``output`` or stdout."""
    config = load_config(path)
    feeds = [s for s in config.sources if s.kind == "feed"]
    document = write_opml(feeds)
    if output is None or output == "-":
        sys.stdout.write(document.decode("utf-8"))
    else:
        try:
            Path(output).write_bytes(document)
        except OSError as exc:
            raise SourcesError(f"{output}: cannot write: {exc.strerror or exc}") from None
    others = len(config.sources) - len(feeds)
    note = f" ({others} page or sitemap source{'s' * (others != 1)} left out)" if others else ""
    print(f"exported {len(feeds)} feed{'s' * (len(feeds) != 1)}{note}", file=sys.stderr)
    return 0


def add(
    path: Path,
    url: str,
    *,
    name: str | None,
    tags: Sequence[str],
    pick: int | None,
    yes: bool,
    as_json: bool,
) -> int:
    """Find the feeds of ``url`` and add the chosen one to sources.yaml."""
    config = _config(path)
    allow = config.allow_private_networks if config is not None else False
    found = asyncio.run(discover(url, config.fetch if config else None, allow_private=allow))
    if as_json and pick is None and not yes:
        print(json.dumps([f.as_json() for f in found], ensure_ascii=False, indent=2))
        return 0
    if not as_json:
        _show(found)
    choice = _choose(found, pick, yes)
    if choice is None:
        return EXIT_FAILED
    chosen = found[choice - 1]
    target = SourcesFile(path)
    existing = target.by_key().get(feed_key(chosen.url))
    if existing is not None:
        print(f"{scrub(chosen.url)} is already in {path} as {existing}; nothing written")
        return 0
    entry = _added_entry(chosen, name, tags, target)
    problem = _invalid(entry)
    if problem:
        raise SourcesError(f"cannot add {scrub(chosen.url)}: {problem}")
    target.write(target.render([entry]))
    if as_json:
        print(json.dumps({"candidates": [f.as_json() for f in found], "added": entry}, indent=2))
    else:
        print(f"added {entry['name']} ({chosen.kind}: {scrub(chosen.url)}) to {path}")
    return 0


def _added_entry(
    chosen: Found, name: str | None, tags: Sequence[str], target: SourcesFile
) -> dict[str, Any]:
    taken = target.names()
    if name is not None and name in taken:
        raise SourcesError(f"a source named {name!r} is already in {target.path}")
    wanted = name or slug(chosen.title or site_of(host_of(chosen.url)))
    entry: dict[str, Any] = {"name": name or target.unique_name(wanted, taken), "url": chosen.url}
    if chosen.kind != "feed":
        entry["kind"] = chosen.kind
    if tags:
        entry["tags"] = list(tags)
    return entry


def _show(found: Sequence[Found]) -> None:
    rows = [("#", "KIND", "FORMAT", "ENTRIES", "NEWEST", "TITLE", "URL")]
    for n, f in enumerate(found, 1):
        newest = f.newest.strftime("%Y-%m-%d %H:%M") if f.newest else "-"
        rows.append((str(n), f.kind, f.format, str(f.entries), newest, f.title[:40], scrub(f.url)))
    table(rows)
    if found and found[0].kind != "feed":
        print("no feed found; a sitemap or the page itself can still be followed")


def _choose(found: Sequence[Found], pick: int | None, yes: bool) -> int | None:
    if pick is not None:
        if pick > len(found):
            raise SourcesError(f"--pick {pick}: only {len(found)} candidate(s) were found")
        return pick
    if yes:
        return 1
    if not sys.stdin.isatty():
        print("nothing written: pass --pick K to add candidate K, or --yes for the first",
              file=sys.stderr)  # fmt: skip
        return None
    try:
        answer = input(f"add which? [1-{len(found)}, Enter = 1, q = none] ").strip()
    except EOFError:
        return None
    if answer.lower() in ("q", "n", "no"):
        return None
    if not answer:
        return 1
    if answer.isdigit() and 1 <= int(answer) <= len(found):
        return int(answer)
    raise MonitorError(f"{answer!r} is not one of 1-{len(found)}")
