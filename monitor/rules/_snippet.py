"""The few lines an alert shows: plain text around the matches, with their spans.

Emails, webhooks and the terminal all render the same snippet, so it is plain text
(whitespace collapsed, paragraphs joined) with ``[start, end)`` highlight spans; each
channel decides how to mark them.

A snippet starts shortly before the first match in the body (or shows the title when
only the title matched). Where it starts depends only on that first match, so the text
of a snippet (a :class:`Frame`) is worked out once per article and first match, and the
many rules that fire on the same article and word only place their highlights in it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

WIDTH = 240
# How much text to keep before the first match, so the reader sees its context.
_LEAD = 60
_ELLIPSIS = "…"
# Words in a snippet and then some (news French and English average 6 to 7 characters
# a word with its space), so that a match at the edge is still marked.
WINDOW_WORDS = 45
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


def body_frame(body: str, first: tuple[int, int]) -> Frame:
    """The snippet around a first match at ``first`` (a span of ``body``)."""
    first_start, first_end = first
    start = max(0, first_start - _LEAD)
    if start > 0:
        lead = body[start:first_start]
        cut = -1
        for mark in _SENTENCE_ENDS:
            at = lead.rfind(mark)
            if at >= 0 and at + len(mark) > cut:
                cut = at + len(mark)
        if cut >= 0:
            start += cut
        else:
            space = lead.find(" ")
            start = start + space + 1 if space >= 0 else first_start
    end = start + WIDTH
    if end >= len(body):
        end = len(body)
    else:
        space = body.rfind(" ", first_end, end)
        end = space if space > 0 else max(end, first_end)
    text, runs, placed = _collapse(body, start, end)
    shift = 0
    if start > 0:
        text = _ELLIPSIS + " " + text
        shift = 2
    if end < len(body):
        text += " " + _ELLIPSIS
    return Frame(text, start, end, shift, runs, placed)


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
