"""What ``run --once`` did, as its exit code and its line on stderr."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.pipeline import PollResult
from monitor.store import Unsent


@dataclass(frozen=True)
class OnceReport:
    """What ``run --once`` did: each poll's result, and what it could not send."""

    results: list[PollResult]
    unsent: list[Unsent]

    @property
    def failed(self) -> bool:
        """Exit 1: every source failed, or an alert could not be sent."""
        every = bool(self.results) and not any(r.ok for r in self.results)
        return every or bool(self.unsent)

    @property
    def storage_error(self) -> str | None:
        """The database's own error when a poll failed on it (exit 3, not 1)."""
        return next((r.error for r in self.results if r.kind == "store"), None)

    def summary(self) -> str:
        """One line for stderr, e.g. "3 of 3 sources failed; 2 alerts not sent (...)"."""
        n = len(self.results)
        failed = sum(not r.ok for r in self.results)
        new = sum(r.new_articles for r in self.results)
        sources = _plural(n, "source")
        head = f"{failed} of {n} {sources} failed" if failed else f"polled {n} {sources}"
        if self.storage_error:
            head += f" (database unusable: {self.storage_error})"
        parts = [head, f"{new} new {_plural(new, 'article')}"]
        if self.unsent:
            total = sum(u.count for u in self.unsent)
            why = "; ".join(u.describe() for u in self.unsent)
            parts.append(f"{total} {_plural(total, 'alert')} not sent ({why})")
        return "; ".join(parts)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"
