"""The few lines an alert shows: plain text around the matches, with their spans.

Emails, webhooks and the terminal all render the same snippet, so it is plain text
(whitespace collapsed, paragraphs joined) with ``[start, end)`` highlight spans; each
channel decides how to mark them.

A snippet shows the passage of the body holding the most distinct terms of the rule
(:func:`best_start`, the earliest such passage on a tie; a phrase counts once, whole),
or the title when only the title matched. It starts at the sentence holding the
passage's first match and ends at a sentence end when one comes late enough. Its text
(a :class:`Frame`) depends only on where the passage starts and ends, so it is worked
out once per article and passage, and the many rules that fire on the same words only
place their highlights in it. :func:`matched_words` says which words of the article
matched each term, as they are written there ("IA" found as "AI").
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.rules._analyzed import Analyzed
    from monitor.rules._nodes import Hits

WIDTH = 240
# How much text to keep before the first match, so the reader sees its context.
_LEAD = 60
_ELLIPSIS = "…"
# Words in a snippet and then some (news French and English average 6 to 7 characters
# a word with its space), so that a match at the edge is still marked.
WINDOW_WORDS = 45
# The passage whose distinct terms are counted: about what WIDTH characters hold.
PASSAGE_WORDS = 30
# How far back from the passage's first match its sentence may start.
_LOOKBACK = 140
# A sentence end closes the snippet only if it keeps at least this much of WIDTH.
_MIN_FILL = 170
# Forms of one term listed in ``matched_words`` at most.
_MAX_FORMS = 4
# Places of one term read for the passage and its words: a term found thousands of
# times in a huge page must not make the snippet cost more than the match did.
_MAX_PLACES = 1000
_SENTENCE_ENDS = (". ", "! ", "? ", "\n", ": ", "; ")

Spans = list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Frame:
    """The text of a snippet, cut from ``source[start:end]``, and how offsets move into it."""

    text: str
    start: int
    end: int
    shift: int  # characters added in front ("… ")
    runs: tuple[int, ...] = ()  # when whitespace was collapsed: where each word run starts
    placed: tuple[int, ...] = ()  # ... and where it lands in ``text``

    def place(self, source: str, spans: Spans) -> Spans:
        """``spans`` of ``source`` that fall in the frame, moved to ``text`` and merged."""
        out: Spans = []
        for start, end in _merge(source, spans):
            if self.start <= start and end <= self.end:
                out.append((self._move(start), self._move(end - 1) + 1))
        return out

    def _move(self, at: int) -> int:
        # ``at`` is a word character, so it lies inside a run of non-space characters.
        if not self.runs:
            return at - self.start + self.shift
        run = bisect_right(self.runs, at) - 1
        return self.placed[run] + at - self.runs[run] + self.shift


def body_frame(body: str, first: tuple[int, int], reach: int | None = None) -> Frame:
    """The snippet opening on a first match at ``first`` (a span of ``body``), meant to
    show the matches up to character ``reach`` (default: the first's end)."""
    first_start, first_end = first
    start = _sentence_start(body, first_start)
    end = start + WIDTH
    if end >= len(body):
        end = len(body)
    else:
        last = min(max(first_end, reach or first_end), end)
        end = _sentence_end(body, last, start, end)
    text, runs, placed = _collapse(body, start, end)
    shift = 0
    if start > 0:
        text = _ELLIPSIS + " " + text
        shift = 2
    if end < len(body):
        text += " " + _ELLIPSIS
    return Frame(text, start, end, shift, runs, placed)


def _sentence_start(body: str, at: int) -> int:
    """Where the sentence holding ``at`` starts, if near; else a word ``_LEAD`` back."""
    if at <= _LEAD:
        return 0
    low = max(0, at - _LOOKBACK)
    lead = body[low:at]
    cut = -1
    for mark in _SENTENCE_ENDS:
        found = lead.rfind(mark)
        if found >= 0 and found + len(mark) > cut:
            cut = found + len(mark)
    if cut >= 0:
        return low + cut
    if low == 0:
        return 0
    start = at - _LEAD
    space = body.find(" ", start, at)
    return space + 1 if space >= 0 else at


def _sentence_end(body: str, last: int, start: int, limit: int) -> int:
    """The end of the last sentence closing between ``last`` and ``limit``, when it
    keeps the snippet full enough; else the last word boundary before ``limit``."""
    best = -1
    for mark in _SENTENCE_ENDS:
        found = body.rfind(mark, last, limit)
        if found >= 0:
            best = max(best, found + len(mark.rstrip()))
    if best - start >= _MIN_FILL:
        return best
    space = body.rfind(" ", last, limit)
    return space if space > 0 else max(limit, last)


def _places(doc: Analyzed, hits: Hits, term: str, stream: int) -> list[tuple[int, int]]:
    """The first ``_MAX_PLACES`` chunk ranges of ``stream`` where ``term`` matched: a
    phrase whole, a word alone, NEAR's words without what lies between them."""
    spans, chunks = hits.per_term.get((term, stream), ([], set()))
    found: set[tuple[int, int]] = set()
    for first, last, words in spans[:_MAX_PLACES]:
        if last > first and len(words) == last - first + 1:
            found.add((first, last))
        else:
            found.update((w, w) for w in words)
    for chunk in chunks:
        found.update((p, p) for p in doc.occurrences(stream, chunk)[:_MAX_PLACES])
    return sorted(found)[:_MAX_PLACES]


def _form_places(doc: Analyzed, hits: Hits, term: str, stream: int) -> list[tuple[int, int]]:
    """One place per distinct chunk of a word, the first few of a phrase or NEAR: the
    text up to a place is walked to find its characters, so far places are costly."""
    spans, chunks = hits.per_term.get((term, stream), ([], set()))
    places = {(first, last) for first, last, _ in spans[: 2 * _MAX_FORMS]}
    for chunk in chunks:
        found = doc.occurrences(stream, chunk)
        if found:
            places.add((found[0], found[0]))
    return sorted(places)


def term_spans(doc: Analyzed, hits: Hits, stream: int) -> dict[str, list[tuple[int, int]]]:
    """Per term, the chunk ranges of ``stream`` where it matched, in order."""
    out: dict[str, list[tuple[int, int]]] = {}
    for term, where in hits.per_term:
        if where == stream:
            found = _places(doc, hits, term, stream)
            if found:
                out[term] = found
    return out


def best_start(
    spans: Mapping[str, list[tuple[int, int]]], width: int = PASSAGE_WORDS
) -> int | None:
    """The first chunk of the earliest ``width``-chunk passage holding the most distinct
    terms, each whole; None when no term has a span."""
    events = sorted((first, last, term) for term, found in spans.items() for first, last in found)
    counts: dict[str, int] = {}
    best: int | None = None
    best_count = 0
    j = 0
    for i, (start, _, term) in enumerate(events):
        # Two pointers: events[i:j] are the spans that start at or after ``start`` and
        # end within the passage; the passage always holds its own first span.
        j = max(j, i)
        while j < len(events) and (j == i or events[j][1] <= start + width):
            counts[events[j][2]] = counts.get(events[j][2], 0) + 1
            j += 1
        distinct = sum(1 for n in counts.values() if n)
        if distinct > best_count:
            best, best_count = start, distinct
            if distinct == len(spans):
                break  # no passage can hold more: the earliest full one wins
        counts[term] -= 1
    return best


def matched_words(doc: Analyzed, hits: Hits) -> dict[str, tuple[str, ...]]:
    """Per term (in the order of ``hits.fields``), the article's words that matched it,
    as written there, title first; a phrase's words as one."""
    out: dict[str, tuple[str, ...]] = {}
    for term in hits.fields:
        forms: dict[str, str] = {}
        for stream in (0, 1):
            for first, last in _form_places(doc, hits, term, stream):
                head, tail = doc.word_spans(stream, first), doc.word_spans(stream, last)
                if not head or not tail:
                    continue
                begin, end = head[0][0], tail[-1][1]
                word = " ".join(doc.texts[stream][begin:end].split())
                forms.setdefault(word.casefold(), word)
        if forms:
            out[term] = tuple(forms.values())[:_MAX_FORMS]
    return out


def title_frame(title: str, body: str) -> Frame:
    """The snippet when nothing matched in the body: the title, then the body's start."""
    text, runs, placed = _collapse(title, 0, len(title))
    room = WIDTH - len(text) - 3
    lead = " ".join(body[: 2 * WIDTH].split())
    if lead and room > 20:
        cut = lead if len(lead) <= room else _cut_words(lead, room) + _ELLIPSIS
        text = f"{text} — {cut}" if text else cut
    return Frame(text, 0, len(title), 0, runs, placed)


def _merge(text: str, spans: Spans) -> Spans:
    # Overlapping spans become one, and so do words joined by a hyphen or an apostrophe
    # ("e-mail", "aujourd'hui"), which read as one match.
    out: Spans = []
    for start, end in sorted(spans):
        if out and start - out[-1][1] <= 1 and not text[out[-1][1] : start].isspace():
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _collapse(text: str, start: int, end: int) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """``text[start:end]`` with whitespace runs made one space, and the run offsets."""
    piece = text[start:end]
    words = piece.split()
    collapsed = " ".join(words)
    if collapsed == piece:
        return piece, (), ()
    runs: list[int] = []
    placed: list[int] = []
    at = 0
    out = 0
    for word in words:
        at = piece.index(word, at)
        runs.append(start + at)
        placed.append(out)
        at += len(word)
        out += len(word) + 1
    return collapsed, tuple(runs), tuple(placed)


def _cut_words(text: str, limit: int) -> str:
    space = text.rfind(" ", 0, limit)
    return text[: space if space > 0 else limit]
