"""The command line's grammar: one sub-parser per command group."""

from __future__ import annotations

import argparse

from monitor import __version__


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="monitor", description="Self-hosted news monitoring.")
    p.add_argument("--version", action="version", version=f"news-monitor {__version__}")
    p.add_argument(
        "--config", help="sources.yaml to use (default: $MONITOR_CONFIG or ./sources.yaml)"
    )
    p.add_argument("--log-format", choices=["kv", "json"], default="kv")
    p.add_argument("--log-level", default="INFO")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the daemon (or one pass with --once)")
    run.add_argument("--once", action="store_true", help="poll every source once, deliver, exit")
    run.add_argument(
        "--http", metavar="HOST:PORT",
        help="serve /healthz, /metrics and the web view there (default: http.listen)",
    )  # fmt: skip

    web = sub.add_parser("web", help="serve the web view alone (reads the database, polls nothing)")
    web.add_argument(
        "--http", metavar="HOST:PORT",
        help="where to listen (default: http.listen, else 127.0.0.1:9100)",
    )  # fmt: skip

    sub.add_parser("check", help="validate sources.yaml and summarise it")

    fetch = sub.add_parser("fetch", help="dry run of one source: writes and sends nothing")
    fetch.add_argument("source", help="the source's name in sources.yaml")
    fetch.add_argument("--limit", type=int, default=10, help="articles to fetch at most")

    ext = sub.add_parser("extract", help="print the article body and metadata of a URL or file")
    ext.add_argument("target", help="an http(s) URL or a path to an HTML file")
    ext.add_argument("--json", action="store_true", help="print JSON")
    ext.add_argument("--selector", help="CSS selector of the body, overriding the heuristics")

    rules = sub.add_parser("rules", help="work with alert rules")
    rsub = rules.add_subparsers(dest="rules_command", required=True, metavar="SUBCOMMAND")
    rtest = rsub.add_parser(
        "test", help="replay an alert (by name) as the poll applies it, or a query"
    )
    rtest.add_argument("query", metavar="ALERT-OR-QUERY")
    rtest.add_argument("--since", default="30d", help="how far back (default 30d)")
    rtest.add_argument("--limit", type=int, default=20)

    search = sub.add_parser("search", help="search stored articles with a query")
    search.add_argument("query")
    search.add_argument("--since", default=None, help="how far back (default: everything)")
    search.add_argument("--limit", type=int, default=20)

    status = sub.add_parser("status", help="sources, channels and daemons at a glance")
    status.add_argument(
        "--json", action="store_true", help="one JSON object: sources, channels, daemons"
    )

    alerts = sub.add_parser("alerts", help="list alerts, or send some again")
    alerts.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    alerts.add_argument("alert_id", nargs="?", help="with retry: one alert (default: all dead)")
    alerts.add_argument("--status", choices=["pending", "sent", "failed", "dead"])
    alerts.add_argument("--limit", type=int, default=50)

    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: migrate to the latest revision")
    return p
