"""Command lines run in process: ``main(argv)`` with its output captured.

The ``run_cli`` fixture in conftest.py runs the ``monitor`` command this way.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Result:
    """What a user sees of one command: its exit code and what it printed."""

    code: int
    out: str
    err: str


def call_main(
    entry: Callable[[list[str]], int | None],
    argv: Sequence[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Result:
    """Run a command line's ``main(argv)`` in this process, as a subprocess would see it.

    The environment holds no MONITOR_* variable but those in ``env``, like the
    subprocesses these calls replace; env and cwd are put back when the call returns.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    # setup_logging quiets library loggers; their levels would otherwise stay raised
    # for every later test in the session, hiding records from caplog.
    levels = {
        name: lg.level
        for name, lg in logging.Logger.manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    capsys.readouterr()  # only what this command prints
    with monkeypatch.context() as mp:
        for name in [k for k in os.environ if k.startswith("MONITOR_")]:
            mp.delenv(name)
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        if cwd is not None:
            mp.chdir(cwd)
        try:
            code = entry(list(argv)) or 0
        except SystemExit as exc:
            # argparse (usage errors, --help) exits instead of
            # returning; the interpreter would print a message and exit 1 with it.
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
            code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
        # Any other exception propagates: its traceback says more than "exit 1" would.
        finally:
            # The handler setup_logging installed writes to capsys's stream: drop it, so
            # that later tests log to pytest's handlers again.
            root.handlers[:] = handlers
            root.setLevel(level)
            for name, lg in logging.Logger.manager.loggerDict.items():
                if isinstance(lg, logging.Logger):
                    lg.setLevel(levels.get(name, logging.NOTSET))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
