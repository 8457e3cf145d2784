"""Benchmark: the delivery guarantee under a long SIGKILL storm (issue 7's crash test).

The long version of tests/test_crash.py: a local site whose six feeds keep growing
(alternately matching and not matching ``Amazon IA licenciements``), an aiosmtpd sink
and a webhook receiver that fails one request in five, both slow to acknowledge; daemons
on one SQLite file are killed with SIGKILL at random moments ``--kills`` times, then
``run --once`` finishes the work and the audit checks every delivery. It prints the
lives, where the kills landed, the deliveries and the repeats (resends after a crash,
which must carry the first delivery's id), and exits 1 if any guarantee was broken.

    uv run python bench/crash.py [--kills 100] [--seed 7] [--spawn exec|fork]
                                 [--once-share 0.5] [--keep]

``--spawn exec`` (the default) starts every daemon as ``python -m monitor``; ``fork``
forks them from a process that has imported the package already (what the test does to
stay fast). ``--once-share`` is the fraction of lives that are ``run --once``; the others
are the daemon proper, whose first delivery tick is 5 s after it starts.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.crashkit import (
    ExecSpawner,
    ForkSpawner,
    GrowingSite,
    HookReceiver,
    Life,
    Spawner,
    audit,
    settle,
    slow_mail_sink,
    storm,
    write_config,
)
from tests.faultserver import FaultServer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spawn", choices=("exec", "fork"), default="exec")
    parser.add_argument("--once-share", type=float, default=0.5)
    parser.add_argument("--keep", action="store_true", help="keep the logs and the database")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="crash-bench-"))
    spawner: Spawner = ForkSpawner() if args.spawn == "fork" else ExecSpawner()
    started = time.monotonic()
    try:
        with FaultServer() as server, slow_mail_sink(hold=0.05) as mail:
            # Enough articles that the feeds grow for the whole run (one every 0.5 s).
            site = GrowingSite(server, feeds=6, total=4000, every=0.5, initial=6)
            hook = HookReceiver(fail_every=5, hold=0.05)
            config = write_config(directory, site, server.route("/hook", hook), mail.port)
            lives = storm(
                spawner, config, kills=args.kills, seed=args.seed, once_share=args.once_share,
                windows=(1.5, 8.0), busy=lambda: server.hits() + len(mail.messages),
                on_life=_progress,
            )  # fmt: skip
            stormed = time.monotonic() - started
            site.freeze()
            requeued = settle(ExecSpawner(), config)
            result = audit(config, site, [*mail.deliveries(), *hook.accepted])
            rejected = hook.rejected
    finally:
        if isinstance(spawner, ForkSpawner):
            spawner.close()
    kills = [life for life in lives if life.code == -signal.SIGKILL]
    print(f"\n{len(lives)} lives in {stormed:.0f} s ({args.spawn}), {len(kills)} SIGKILLs")
    print(f"  kills by mode: {dict(Counter(life.mode for life in kills))}")
    print(f"  other exits: {dict(Counter(life.code for life in lives if life not in kills))}")
    print("  last event logged before each kill:   once    run")
    by_mode = Counter((life.last_event, life.mode) for life in kills)
    for event, _ in Counter(life.last_event for life in kills).most_common():
        print(f"    {event:34.34} {by_mode[event, 'once']:5d} {by_mode[event, 'run']:6d}")
    print(f"articles published and stored: {result.published}")
    print(f"expected deliveries (matching x channels): {result.expected}")
    for channel in sorted(result.deliveries):
        total, repeats = result.deliveries[channel], result.repeats[channel]
        print(f"  {channel}: {total} received, {repeats} repeats (resent after a crash)")
    print(f"webhook requests refused (500): {rejected}; requeued out of a backoff: {requeued}")
    print(f"total {time.monotonic() - started:.0f} s")
    if args.keep:
        print(f"logs and database kept in {directory}")
    else:
        shutil.rmtree(directory, ignore_errors=True)
    if result.problems:
        print("GUARANTEE BROKEN:\n  " + "\n  ".join(result.problems))
        return 1
    print("every guarantee held")
    return 0


def _progress(life: Life) -> None:
    mark = "K" if life.code == -signal.SIGKILL else str(life.code)
    print(f"{mark}:{life.mode}:{life.seconds:.1f}s", end=" ", flush=True)


if __name__ == "__main__":
    sys.exit(main())
