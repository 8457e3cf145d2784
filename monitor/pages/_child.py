"""A page worker: ``python -m monitor.pages._child``, started by a ``PagePool``.

It reads one job at a time from stdin (a page to read or a feed to parse: ``_jobs``)
and writes one answer for each to stdout, and
exits when stdin ends: its daemon closed the pipe, or died (even by SIGKILL), so a
worker never outlives the process that started it.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from typing import BinaryIO

from monitor.pages._jobs import EXPECTED, run_job
from monitor.pages._wire import HEADER, READY, frame
from monitor.rules import note_words, take_notes


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def serve(jobs: BinaryIO, answers: BinaryIO) -> None:
    """Say it is ready, then answer every job of ``jobs`` until it ends.

    Each answer is ``(kind, value, notes)``: the notes are the words this worker worked
    out for the job (``take_notes``), which the daemon's matcher would otherwise work
    out again for the same article.
    """
    note_words()
    # Sent once the imports are done: until then the daemon does its jobs itself.
    answers.write(frame(READY))
    answers.flush()
    while True:
        head = _read_exactly(jobs, HEADER.size)
        if head is None:
            return
        data = _read_exactly(jobs, HEADER.unpack(head)[0])
        if data is None:
            return
        answer: tuple[str, object]
        try:
            answer = ("ok", run_job(pickle.loads(data)))
        except Exception as exc:  # one job's failure: that job's, the worker goes on
            expected = EXPECTED.get(getattr(exc, "kind", ""))
            if expected is not None and isinstance(exc, expected):
                answer = (expected.kind, str(exc))
            else:  # a bug
                answer = ("error", f"{type(exc).__name__}: {exc}")
        answers.write(frame((*answer, take_notes())))
        answers.flush()


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the daemon settles and
    # then closes this worker's stdin, which must still find it answering.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Answers keep the real stdout; anything a library prints goes to stderr instead
    # of into the frames.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, answers)
    # Every answer is written and nothing else is held: skip the interpreter's teardown
    # (freeing every object, 50 ms), which the daemon's `run --once` would wait out.
    answers.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
