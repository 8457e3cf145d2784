"""``main(argv)``: parse, configure logging, run one command, map errors to exit codes.

Exit codes: 0 ok, 1 a command failed, 2 the config is invalid, 3 the database cannot be used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from monitor.cli import _admin, _archive, _extract, _run
from monitor.cli._parser import build_parser
from monitor.config import config_path, load_config, parse_duration, summarize
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.observe import hold_secrets, redact, setup_logging
from monitor.scheduler import config_secrets

EXIT_FAILED, EXIT_CONFIG, EXIT_DATABASE = 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    setup_logging(args.log_format, args.log_level)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"error: invalid config:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_DATABASE
    except MonitorError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "extract":
        return _extract.extract(args.target, as_json=args.json, selector=args.selector)
    path = config_path(args.config)
    config = load_config(path)
    hold_secrets(config_secrets(config))  # no log line of this command shows one
    if args.command == "check":
        print(f"{path}: ok")
        print(summarize(config))
        return 0
    if args.command == "fetch":
        return _run.dry_run(config, args.source, args.limit)
    if args.command == "run":
        return _run.run(path, config, once=args.once, http=args.http)
    if args.command == "web":
        return _run.web(config, args.http)
    if args.command == "rules":
        return _archive.replay(config, args.query, parse_duration(args.since), args.limit)
    if args.command == "search":
        since = parse_duration(args.since) if args.since else None
        return _archive.search(config, args.query, since, args.limit)
    if args.command == "status":
        return _admin.status(config, as_json=getattr(args, "json", False))
    if args.command == "alerts":
        return _admin.alerts(config, args.action, args.alert_id, args.status, args.limit)
    if args.command == "db":
        _admin.open_db(config).close()
        print("database is at the latest revision")
        return 0
    raise AssertionError(args.command)
