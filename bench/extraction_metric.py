"""The article-extraction-benchmark metric, as the corpus README defines it.

Text is cut into ``\\w+`` tokens, tokens into overlapping 4-token shingles (a text of
one to three tokens is one short shingle), and a page's prediction is compared with
its ground truth as multisets of shingles. Precision and recall are averaged over
pages, so a long page weighs no more than a short one; F1 combines the two averages.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
_SHINGLE = 4


@dataclass(frozen=True, slots=True)
class PageScore:
    """Shingle counts for one page."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        if self.tp + self.fp + self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        if self.tp + self.fp + self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float:
        p, r = self.precision or 0.0, self.recall or 0.0
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Summary:
    """The corpus-level figures."""

    precision: float
    recall: float
    f1: float
    pages: int


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """Multiset of 4-token shingles of ``text``."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return Counter()
    if len(tokens) < _SHINGLE:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + _SHINGLE]) for i in range(len(tokens) - _SHINGLE + 1))


def score_page(predicted: str, expected: str) -> PageScore:
    """Compare one page's extracted text with its ground truth."""
    got, want = shingles(predicted), shingles(expected)
    tp = sum((got & want).values())
    return PageScore(tp=tp, fp=sum(got.values()) - tp, fn=sum(want.values()) - tp)


def summarize(scores: Iterable[PageScore]) -> Summary:
    """Average per-page precision and recall and combine them into F1."""
    items = list(scores)
    precisions = [p for s in items if (p := s.precision) is not None]
    recalls = [r for s in items if (r := s.recall) is not None]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Summary(precision=precision, recall=recall, f1=f1, pages=len(items))
