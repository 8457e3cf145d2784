"""The command line's grammar: one sub-parser per command group.

The global options (``--config``, ``--log-format``, ``--log-level``) are accepted before
or after the command: every parser carries them, with no default of its own (argparse
would otherwise let a sub-parser's default overwrite what was given before the command);
``finish`` fills the defaults in afterwards. Every value is checked here, so a bad one is
a usage error naming its option (exit 2), never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from monitor import __version__
from monitor.config import parse_duration
from monitor.text import split_host_port

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
GLOBAL_DEFAULTS: dict[str, Any] = {"config": None, "log_format": "kv", "log_level": "INFO"}


def _duration(text: str) -> Any:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return value


def _listen(text: str) -> str:
    try:
        split_host_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    return text


def _level(text: str) -> str:
    level = text.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r}: one of {', '.join(LOG_LEVELS)}")
    return level


def _globals() -> argparse.ArgumentParser:
    g = argparse.ArgumentParser(add_help=False)
    opts = g.add_argument_group("global options (before or after the command)")
    s = argparse.SUPPRESS
    opts.add_argument(
        "--config", metavar="FILE", default=s,
        help="sources.yaml to use (default: $MONITOR_CONFIG or ./sources.yaml)",
    )  # fmt: skip
    opts.add_argument("--log-format", choices=["kv", "json"], default=s, help="default: kv")
    opts.add_argument(
        "--log-level", type=_level, choices=LOG_LEVELS, default=s, metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)} (default: INFO)",
    )  # fmt: skip
    return g


def build_parser() -> argparse.ArgumentParser:
    common = _globals()
    p = argparse.ArgumentParser(
        prog="monitor", description="Self-hosted news monitoring.", parents=[common]
    )
    p.add_argument("--version", action="version", version=f"news-monitor {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent: Any, name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(
            name, help=help, description=help, parents=[common], **kwargs
        )
        return parser

    _daemons(sub, command)
    _inspection(sub, command)
    _alerts(sub, command)
    _sources(sub, command)
    _upkeep(sub, command)
    return p


def _daemons(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """The long-running commands: the daemon, a cluster worker, the web view alone."""
    run = command(sub, "run", "run the daemon (or one pass with --once)")
    run.add_argument("--once", action="store_true", help="poll every source once, deliver, exit")
    run.add_argument(
        "--http", metavar="HOST:PORT", type=_listen,
        help="serve /healthz, /metrics and the web view there (default: http.listen)",
    )  # fmt: skip

    worker = command(sub, "worker", "a worker process of a cluster on PostgreSQL (docs/scaling.md)")
    worker.add_argument(
        "--queues", default="poll,deliver,maint",
        help="comma-separated queues to run jobs of (default: poll,deliver,maint)",
    )  # fmt: skip
    worker.add_argument(
        "--concurrency", type=_positive, default=16, help="jobs run at once (default 16)"
    )
    worker.add_argument(
        "--partitions", type=_positive, default=64,
        help="host partitions the dispatcher splits due sources into (default 64)",
    )  # fmt: skip

    web = command(sub, "web", "serve the web view alone (reads the database, polls nothing)")
    web.add_argument(
        "--http", metavar="HOST:PORT", type=_listen,
        help="where to listen (default: http.listen, else 127.0.0.1:9100)",
    )  # fmt: skip


def _inspection(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Commands that read and print, writing and sending nothing."""
    check = command(sub, "check", "validate sources.yaml and summarise it")
    check.add_argument("--json", action="store_true", help="print one JSON object")

    command(sub, "schema", "print the JSON Schema of sources.yaml (for editors)")

    fetch = command(sub, "fetch", "dry run of one source: writes and sends nothing")
    fetch.add_argument("source", help="the source's name in sources.yaml")
    fetch.add_argument("--limit", type=_positive, default=10, help="articles to fetch at most")

    ext = command(sub, "extract", "print the article body and metadata of a URL or file")
    ext.add_argument("target", help="an http(s) URL or a path to an HTML file")
    ext.add_argument("--json", action="store_true", help="print JSON")
    ext.add_argument("--selector", help="CSS selector of the body, overriding the heuristics")

    rules = command(sub, "rules", "work with alert rules")
    rsub = rules.add_subparsers(dest="rules_command", required=True, metavar="SUBCOMMAND")
    rtest = command(rsub, "test", "replay an alert (by name) as the poll applies it, or a query")
    rtest.add_argument("query", metavar="ALERT-OR-QUERY")
    rtest.add_argument("--since", type=_duration, default="30d", help="how far back (default 30d)")
    rtest.add_argument("--limit", type=_positive, default=20)

    search = command(sub, "search", "search stored articles with a query")
    search.add_argument("query")
    search.add_argument("--since", type=_duration, help="how far back (default: everything)")
    search.add_argument("--limit", type=_positive, default=20)

    status = command(sub, "status", "sources, channels and daemons at a glance")
    status.add_argument(
        "--json", action="store_true", help="one JSON object: sources, channels, daemons"
    )


def _upkeep(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Channels, digests, the database and shell completion."""
    channels = command(sub, "channels", "check the alert channels")
    csub = channels.add_subparsers(dest="channels_command", required=True, metavar="SUBCOMMAND")
    ctest = command(csub, "test", "send a test message through a channel, print the answer")
    ctest.add_argument("channel", help="the channel's name in sources.yaml")

    digest = command(sub, "digest", "digests: alerts waiting to be sent together")
    dgsub = digest.add_subparsers(dest="digest_command", required=True, metavar="SUBCOMMAND")
    dsend = command(dgsub, "send", "send the alerts waiting for a channel's digest now")
    dsend.add_argument("channel", help="the channel's name in sources.yaml")

    db = command(sub, "db", "database maintenance")
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    command(dsub, "upgrade", "migrate the database to the latest revision")

    completion = command(sub, "completion", "print a shell completion script")
    completion.add_argument("shell", choices=["bash", "zsh", "fish"])


def _alerts(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    alerts = command(sub, "alerts", "list alerts (default), or send some again")
    _listing_options(alerts, suppress=False)
    asub = alerts.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND")
    # `monitor alerts --status dead` lists, as `monitor alerts list --status dead` does;
    # the copies under `list` have no default, so they never undo one given before it.
    _listing_options(command(asub, "list", "list alerts, newest first"), suppress=True)
    retry = command(asub, "retry", "send one alert again, or every dead one")
    retry.add_argument("alert_id", nargs="?", help="the alert's id (default: every dead one)")


def _tags(text: str) -> list[str]:
    tags = [t.strip() for t in text.split(",") if t.strip()]
    if not tags:
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more tags, comma-separated")
    return tags


def _sources(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    sources = command(sub, "sources", "import, export or discover sources (docs/sources.md)")
    ssub = sources.add_subparsers(dest="sources_command", required=True, metavar="SUBCOMMAND")
    imp = command(ssub, "import", "merge the feeds of an OPML file into sources.yaml")
    imp.add_argument("file", metavar="FILE.opml")
    imp.add_argument("--print", action="store_true", dest="print_only",
                     help="print the new entries as YAML; write nothing")  # fmt: skip
    imp.add_argument("--tag", action="append", default=[], metavar="T",
                     help="add tag T to every imported source (repeatable)")  # fmt: skip
    exp = command(ssub, "export", "write the feed sources as OPML 2.0")
    exp.add_argument("--output", "-o", metavar="F", help="file to write (default: stdout)")
    add = command(ssub, "add", "find the feeds of a site, section or article URL; add one")
    add.add_argument("url", type=_http_url, metavar="URL")
    add.add_argument("--name", help="the source's name (default: from the feed's title)")
    add.add_argument("--tags", type=_tags, default=[], metavar="a,b", help="its tags")
    pick = add.add_mutually_exclusive_group()
    pick.add_argument("--pick", type=_positive, metavar="K", help="add candidate K")
    pick.add_argument("--yes", "-y", action="store_true", help="add the first candidate")
    add.add_argument("--json", action="store_true",
                     help="print the candidates (and what was added) as JSON")  # fmt: skip


def _http_url(text: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r}: give an http:// or https:// URL")
    return text.strip()


def _listing_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument(
        "--status",
        choices=["pending", "queued", "digest", "sent", "failed", "dead"],
        default=default(None),
        help="queued (or digest): alerts waiting for their channel's next digest",
    )
    parser.add_argument("--limit", type=_positive, default=default(50))
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print one JSON array"
    )


def finish(args: argparse.Namespace) -> argparse.Namespace:
    """Fill in the global options' defaults (they are suppressed while parsing)."""
    for name, value in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    if getattr(args, "command", None) == "alerts" and not getattr(args, "alerts_command", None):
        args.alerts_command = "list"
    return args
