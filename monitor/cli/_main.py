"""``main(argv)``: parse, configure logging, run one command, map errors to exit codes.

Exit codes: 0 ok, 1 a command failed, 2 the config (or a command-line value) is
invalid, 3 the database cannot be used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from monitor.cli import _admin, _archive, _channels, _digest, _extract, _run, _sources
from monitor.cli._codes import EXIT_CONFIG, EXIT_DATABASE, EXIT_FAILED
from monitor.cli._completion import completion_script
from monitor.cli._parser import build_parser, finish
from monitor.cli._style import paint
from monitor.config import (
    InvalidConfig,
    check_report,
    config_path,
    json_schema,
    load_config,
    summarize,
)
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.observe import hold_secrets, redact, setup_logging
from monitor.scheduler import config_secrets


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = finish(parser.parse_args(argv))
    setup_logging(args.log_format, args.log_level)
    try:
        return _dispatch(parser, args)
    except ConfigError as exc:
        if getattr(args, "json", False) and args.command == "check":
            print(json.dumps(_errors_report(args, exc), ensure_ascii=False, indent=2))
        print(f"{_error()} invalid config:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreError as exc:
        print(f"{_error()} {redact(str(exc))}", file=sys.stderr)
        return EXIT_DATABASE
    except MonitorError as exc:
        print(f"{_error()} {redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `monitor alerts --json | head`: the reader has gone
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python flushes it at exit)
        return 0


def _error() -> str:
    return paint("error:", "red", sys.stderr)


def _errors_report(args: argparse.Namespace, exc: ConfigError) -> dict[str, object]:
    file = str(config_path(args.config))
    if isinstance(exc, InvalidConfig):
        errors = [
            {"file": p.file, "line": p.line, "key": p.key, "message": p.message}
            for p in exc.problems
        ]
    else:
        errors = [{"file": file, "line": None, "key": "", "message": str(exc)}]
    return {"file": file, "ok": False, "errors": errors}


def _sources_command(path: Path, args: argparse.Namespace) -> int:
    if args.sources_command == "import":
        return _sources.import_opml(
            path, args.file, print_only=args.print_only, extra_tags=args.tag
        )
    if args.sources_command == "export":
        return _sources.export_opml(path, args.output)
    return _sources.add(
        path, args.url, name=args.name, tags=args.tags, pick=args.pick, yes=args.yes,
        as_json=args.json,
    )  # fmt: skip


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "extract":
        return _extract.extract(args.target, as_json=args.json, selector=args.selector)
    if args.command == "schema":
        print(json.dumps(json_schema(), indent=2))
        return 0
    if args.command == "completion":
        print(completion_script(parser, args.shell))
        return 0
    path = config_path(args.config)
    if args.command == "sources":  # may create sources.yaml, so before loading it
        return _sources_command(path, args)
    config = load_config(path)
    hold_secrets(config_secrets(config))  # no log line of this command shows one
    if args.command == "check":
        if args.json:
            print(json.dumps(check_report(config, str(path)), ensure_ascii=False, indent=2))
        else:
            print(f"{path}: {paint('ok', 'green', sys.stdout)}")
            print(summarize(config))
        return 0
    if args.command == "fetch":
        return _run.dry_run(config, args.source, args.limit)
    if args.command == "run":
        return _run.run(path, config, once=args.once, http=args.http)
    if args.command == "worker":
        return _run.worker(config, args.queues, args.concurrency, args.partitions)
    if args.command == "web":
        return _run.web(config, args.http)
    if args.command == "rules":
        return _archive.replay(config, args.query, args.since, args.limit)
    if args.command == "search":
        return _archive.search(config, args.query, args.since, args.limit)
    if args.command == "status":
        return _admin.status(config, as_json=getattr(args, "json", False))
    if args.command == "alerts":
        if args.alerts_command == "retry":
            return _admin.retry(config, args.alert_id)
        return _admin.alerts(config, args.status, args.limit, as_json=args.json)
    if args.command == "channels":
        return _channels.test_channel(config, args.channel)
    if args.command == "digest":
        return _digest.send_digest(config, args.channel)
    if args.command == "db":
        _admin.open_db(config).close()
        print("database is at the latest revision")
        return 0
    raise AssertionError(args.command)
