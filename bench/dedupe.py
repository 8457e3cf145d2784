"""Benchmark: story clustering quality and speed of monitor.dedupe, with peers in one run.

    uv run python bench/dedupe.py [--corpus PATH] [--window N] [--seed S] [--json]

Builds a labelled set from the extraction corpora (``aeb`` and ``wcxb-dev`` under
``--corpus``, default ``../shared/corpus/extraction``): every page's body as its own
page extracts it; for half the pages, one or two copies re-wrapped in another outlet's
chrome (navigation, related links, newsletter box, footer) with an edited headline and
a few edited, dropped or added sentences, extracted again from that HTML; and, for a
sample of pages, a distinct follow-up article on the same topic that quotes two of its
sentences; for half the pages, a later article quoting one of its paragraphs or a
quarter of it, set in 0.3 to 2 times as many words of its own (sentences of other
pages). Follow-ups are stories of their own. Pages are then fed in a shuffled order to
a ``StoryIndex`` (find, else a new story; add), and pairwise clustering precision and
recall are printed, next to exact body fingerprints as the peer, with how many
follow-ups of each kind kept a story of their own.

Throughput: the window is filled with ``--window`` synthetic stories (sentences of the
corpus recombined), then every page of the set goes through signature + find + add;
the peers are exact fingerprints (a dict lookup) and a linear scan over the window.
Memory: the index's RSS growth while filling, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import multiprocessing
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selectolax.lexbor import LexborHTMLParser

from monitor.dedupe import StoryIndex, body_fingerprint, signature
from monitor.dedupe._fingerprint import words
from monitor.dedupe._index import _agreement, _compact
from monitor.dedupe._minhash import shingle_hashes

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared/corpus/extraction"
SETS = ("aeb", "wcxb-dev")
MIN_WORDS = 80
_SENTENCE = re.compile(r"(?<=[.!?…”\"])\s+(?=[A-Z“\"‘(])")
_START = datetime(2024, 11, 18, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Doc:
    story: int  # the true story: the corpus page it comes from
    kind: str  # original | copy | follow-up
    text: str


def _extractor() -> tuple[str, Callable[[bytes, str], str]]:
    try:
        from monitor.extract import extract_article
    except ImportError:
        return "selectolax <p> text", _paragraph_text

    def extract(page: bytes, url: str) -> str:
        # A page the extractor cannot handle counts as a missed body, like an empty one.
        try:
            return extract_article(page, url).text
        except Exception:
            return ""

    return "monitor.extract.extract_article", extract


def _paragraph_text(page: bytes, url: str) -> str:
    root = LexborHTMLParser(page).body
    texts = [p.text(deep=True).strip() for p in root.css("p")] if root is not None else []
    return "\n\n".join(text for text in texts if len(text.split()) >= 8)


def load_pages(corpus: Path) -> list[tuple[str, bytes, str]]:
    """(url, html, ground-truth body) of every corpus page with a body worth comparing."""
    pages = []
    for name in SETS:
        folder = corpus / name
        truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
        for page_id in sorted(truth):
            body = truth[page_id]["articleBody"] or ""
            if len(body.split()) < MIN_WORDS:
                continue
            page = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
            pages.append((truth[page_id]["url"] or f"https://{name}.example/{page_id}", page, body))
    return pages


def sentences_of(body: str) -> list[list[str]]:
    return [_SENTENCE.split(p.strip()) for p in body.split("\n") if p.strip()]


_ADDED = (
    "The company did not immediately respond to a request for comment.",
    "This story has been updated with additional details.",
    "Officials said more information would be released in the coming days.",
    "Shares were little changed in early trading.",
)
_SWAPS = {"said": "told reporters", "says": "argues", "would": "could", "first": "initial"}


def edit_body(body: str, rng: random.Random) -> str:
    """A copy editor's pass: two to four sentences reworded, dropped or added; a quarter of
    the time, the last fifth to two fifths of the paragraphs cut."""
    paragraphs = sentences_of(body)
    slots = [(i, j) for i, p in enumerate(paragraphs) for j in range(len(p))]
    for i, j in rng.sample(slots, min(len(slots), rng.randint(2, 4))):
        action = rng.choice(("reword", "drop", "add"))
        sentence = paragraphs[i][j]
        if action == "reword":
            tokens = sentence.split()
            # Content words: swapping "the" for "this" would be too easy a test.
            content = [k for k, token in enumerate(tokens) if len(token) > 3]
            for k in rng.sample(content, min(len(content), 3)):
                tokens[k] = _SWAPS.get(tokens[k].lower(), tokens[k] + "ly")
            paragraphs[i][j] = " ".join(tokens)
        elif action == "drop" and len(slots) > 8:
            paragraphs[i][j] = ""
        else:
            paragraphs[i][j] = sentence + " " + rng.choice(_ADDED)
    lines = [" ".join(s for s in p if s) for p in paragraphs]
    if len(lines) >= 5 and rng.random() < 0.25:  # reprints often cut the last paragraphs
        lines = lines[: round(len(lines) * rng.uniform(0.6, 0.8))]
    lines.append("(Reporting by staff and wire services; editing by the night desk.)")
    return "\n".join(line for line in lines if line)


_OUTLETS = (
    ("The Daily Courier", "article-body", "div"),
    ("Metro Herald", "story__content", "section"),
    ("Valley Times", "entry-content", "div"),
    ("Global Wire Review", "c-article", "article"),
    ("Le Journal du Soir", "article__text", "div"),
)


def render_copy(headline: str, body: str, rng: random.Random, others: Sequence[str]) -> str:
    """The edited body as another outlet's page, with that outlet's chrome around it."""
    outlet, body_class, tag = rng.choice(_OUTLETS)
    esc = html.escape
    sections = ("News", "World", "Business", "Tech", "Sport", "Culture", "Opinion")
    nav = "".join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in sections)
    picks = enumerate(rng.sample(others, 5))
    related = "".join(f'<li><a href="/r/{n}">{esc(t)}</a></li>' for n, t in picks)
    paragraphs = "".join(f"<p>{esc(p)}</p>" for p in body.split("\n"))
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{esc(headline)} | {outlet}</title></head><body>
<div class="cookie">We use cookies to improve your experience. <button>Accept</button></div>
<header><a class="logo" href="/">{outlet}</a><nav><ul>{nav}</ul></nav></header>
<main><{tag} class="story"><h1>{esc(headline)}</h1>
<div class="byline">By {outlet} staff &middot; {rng.randint(2, 9)} min read</div>
<div class="share"><a href="#">Share</a> <a href="#">Tweet</a> <a href="#">Email</a></div>
<div class="{body_class}">{paragraphs}</div>
<div class="newsletter"><h3>Get the morning briefing</h3><p>Sign up for our newsletter.</p></div>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside></{tag}>
</main><footer><p>&copy; 2024 {outlet}. All rights reserved.</p>
<ul><li><a href="/privacy">Privacy</a></li><li><a href="/terms">Terms</a></li></ul></footer>
</body></html>"""


def edit_headline(title: str, rng: random.Random) -> str:
    words = title.split("|")[0].split()
    if len(words) > 4:
        del words[rng.randrange(len(words))]
    return rng.choice(("UPDATE: ", "Report: ", "")) + " ".join(words)


def faithful(extracted: str, expected: str) -> bool:
    """Whether extraction recovered the body: 80% of its words, and 80% of its output."""
    got, want = Counter(words(extracted)), Counter(words(expected))
    common = sum((got & want).values())
    return common >= 0.8 * max(sum(want.values()), 1) and common >= 0.8 * max(sum(got.values()), 1)


def true_stories(bodies: list[str]) -> list[int]:
    """Story labels of the corpus pages: pages whose true bodies are copies share one."""
    sets = [shingle_hashes(words(body)) for body in bodies]
    owners: dict[int, list[int]] = {}
    for number, shingles in enumerate(sets):
        for shingle in shingles:
            owners.setdefault(shingle, []).append(number)
    label = list(range(len(bodies)))
    for number, shingles in enumerate(sets):
        shared = Counter(other for s in shingles for other in owners[s] if other < number)
        for other, count in shared.items():
            if count / len(shingles | sets[other]) >= 0.8:
                label[number] = label[other]
    return label


def _copies(body: str, headline: str, rng: random.Random, others: list[str]) -> list[str]:
    out = []
    for _ in range(rng.choice((1, 1, 2))):
        edited = edit_body(body, rng)
        out.append(render_copy(edit_headline(headline, rng), edited, rng, others))
        out.append(edited)
    return out


def _follow_up(body: str, fillers: list[str], rng: random.Random) -> str:
    """A different article on the same topic: it quotes two sentences, the rest is its own.

    "Its own" text is 40-word passages of four other pages, each used by one follow-up
    only, so that a follow-up is not itself a copy of anything.
    """
    quoted = [s for p in sentences_of(body) for s in p if len(s.split()) <= 40]
    parts = rng.sample(quoted, min(2, len(quoted)))
    for other in fillers:
        tokens = other.split()
        start = rng.randrange(max(len(tokens) - 40, 1))
        parts.append(" ".join(tokens[start : start + 40]))
    rng.shuffle(parts)
    return " ".join(parts)


def _quoted_part(body: str, mode: str, rng: random.Random) -> str | None:
    """One paragraph of ``body`` (a fifth to a third of it), or a quarter of its words in
    one block; None when the body has no such part."""
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    total = sum(len(p.split()) for p in paragraphs)
    if mode == "paragraph":
        fits = [p for p in paragraphs if 25 <= len(p.split()) <= total / 3]
        return rng.choice(fits) if fits else None
    tokens = body.split()
    size = round(len(tokens) / 4)
    if size < 25:
        return None
    start = rng.randrange(len(tokens) - size + 1)
    return " ".join(tokens[start : start + size])


def _quoting_follow_up(body: str, mode: str, own: list[str], rng: random.Random) -> str | None:
    """A later article that quotes one paragraph or a quarter of ``body`` inside its own
    reporting: sentences of other pages drawn from ``own`` (each used once), 0.3 to 2 times
    as many words as the quote, the quote set between them as a block."""
    quote = _quoted_part(body, mode, rng)
    if quote is None:
        return None
    wanted = max(60, round(len(quote.split()) * rng.uniform(0.3, 2.0)))
    mine: list[str] = []
    while own and sum(len(s.split()) for s in mine) < wanted:
        mine.append(own.pop())
    cut = rng.randint(1, max(len(mine) - 1, 1))
    return "\n".join([" ".join(mine[:cut]), quote, " ".join(mine[cut:])])


def build_set(
    pages: list[tuple[str, bytes, str]], seed: int, quoting: bool = True
) -> tuple[list[Doc], Counter[str]]:
    """Originals, edited copies in other chrome, same-topic follow-ups and, with
    ``quoting``, follow-ups quoting a paragraph or a quarter of an original; labelled."""
    rng = random.Random(seed)
    _, extract = _extractor()
    bodies = [body for _, _, body in pages]
    labels = true_stories(bodies)
    headlines = [" ".join(body.split()[:12]) for body in bodies]  # a lede as a headline
    docs: list[Doc] = []
    counts: Counter[str] = Counter()
    spare = list(range(len(pages)))
    rng.shuffle(spare)
    # The quoting follow-ups' own text: single sentences of all pages, shuffled, so a
    # follow-up shares at most a sentence with any page but the one it quotes.
    own = [s for body in bodies for p in sentences_of(body) for s in p if len(s.split()) >= 8]
    rng.shuffle(own)
    for number, (url, page, body) in enumerate(pages):
        text = extract(page, url)
        if not faithful(text, body):
            counts["pages skipped: extractor missed the body"] += 1
            continue
        docs.append(Doc(labels[number], "original", text))
        if number % 2 == 0:
            made = _copies(body, headlines[number], rng, headlines)
            for markup, edited in zip(made[::2], made[1::2], strict=True):
                copy = extract(markup.encode(), f"https://copy.example/{number}")
                if faithful(copy, edited):
                    docs.append(Doc(labels[number], "copy", copy))
                else:
                    counts["copies skipped: extractor missed the body"] += 1
        elif number % 3 == 1 and len(spare) >= 4:
            fillers = [bodies[spare.pop()] for _ in range(4)]
            docs.append(Doc(len(pages) + number, "follow-up", _follow_up(body, fillers, rng)))
        if quoting and number % 4 in (1, 3):
            mode = "paragraph" if number % 4 == 1 else "quarter"
            quoting_text = _quoting_follow_up(body, mode, own, rng)
            if quoting_text is not None:
                docs.append(Doc(2 * len(pages) + number, f"quotes-{mode}", quoting_text))
    counts.update(doc.kind for doc in docs)
    rng.shuffle(docs)
    return docs, counts


def cluster(docs: list[Doc]) -> list[int]:
    """Each article's story, as the pipeline would decide it: a copy's, else its own."""
    index = StoryIndex(window_days=7)
    labels = []
    for number, doc in enumerate(docs):
        sig = signature(doc.text)
        story = index.find(sig)
        labels.append(number if story is None else story)
        index.add(labels[-1], sig, _START + timedelta(minutes=number))
    return labels


def exact_clusters(docs: list[Doc]) -> list[int]:
    first: dict[str, int] = {}
    return [first.setdefault(body_fingerprint(doc.text), n) for n, doc in enumerate(docs)]


def pairwise(truth: list[int], predicted: list[int]) -> tuple[float, float, int, int]:
    """Pairwise precision and recall: of the pairs put together, of the pairs that belong."""
    tp = fp = fn = 0
    for a, b in combinations(range(len(truth)), 2):
        together, same = predicted[a] == predicted[b], truth[a] == truth[b]
        tp += together and same
        fp += together and not same
        fn += same and not together
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return precision, tp / max(tp + fn, 1), fp, fn


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def fill_window(size: int, pool: list[str], seed: int) -> tuple[StoryIndex, float, float]:
    """An index holding ``size`` synthetic stories over six days; seconds and MiB it took."""
    rng = random.Random(seed)
    index = StoryIndex(window_days=7)
    before = _status_mib("VmRSS:")
    started = time.perf_counter()
    for number in range(size):
        text = " ".join(rng.sample(pool, rng.randint(12, 25)))
        seen = _START + timedelta(seconds=number * 6 * 86400 / size)
        index.add(number, signature(text), seen)
    return index, time.perf_counter() - started, _status_mib("VmRSS:") - before


def time_stream(docs: list[Doc], step: Callable[[int, Doc], None]) -> float:
    """Articles per CPU-second of this process for ``step`` over the set: CPU time, so
    that other work on a shared machine does not count (wall time is printed apart)."""
    started = time.process_time()
    for number, doc in enumerate(docs):
        step(number, doc)
    return len(docs) / max(time.process_time() - started, 1e-9)


def throughput(docs: list[Doc], index: StoryIndex, base: int) -> dict[str, float]:
    """signature + find + add with the window full, next to its two peers."""
    now = _START + timedelta(days=6, hours=1)

    def lsh(number: int, doc: Doc) -> None:
        sig = signature(doc.text)
        story = index.find(sig)
        index.add(base + number if story is None else story, sig, now)

    seen: dict[str, int] = {}

    def exact(number: int, doc: Doc) -> None:
        seen.setdefault(body_fingerprint(doc.text), number)

    # The peer is the index without LSH: the same per-entry comparison, against every
    # entry. It reads the index's private store rather than holding a second copy.
    window = [value for value in index._compact if value is not None]
    sample = docs[:20]

    def scan(number: int, doc: Doc) -> None:
        query = _compact(signature(doc.text))
        max((_agreement(query, other) for other in window), default=0.0)

    return {
        "minhash-lsh": time_stream(docs, lsh),
        "exact fingerprint (exact copies only)": time_stream(docs, exact),
        f"linear scan ({len(sample)} articles)": time_stream(sample, scan),
    }


def _window_child(docs: list[Doc], pool: list[str], size: int, seed: int, out: Any) -> None:
    """Runs in a fresh process, so RSS growth is the index's and nothing else's."""
    index, seconds, mib = fill_window(size, pool, seed)
    stories = len(index)
    started = time.perf_counter()
    rates = throughput(docs, index, size)
    wall = time.perf_counter() - started
    out.put({"stories": stories, "seconds": seconds, "mib": mib, "rates": rates,
             "peak": _status_mib("VmHWM:"), "wall": wall})  # fmt: skip


def measure_window(docs: list[Doc], pool: list[str], size: int, seed: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_window_child, args=(docs, pool, size, seed, out))
    child.start()
    result: dict[str, Any] = out.get()
    child.join()
    return result


def _print_window(found: dict[str, Any], articles: int) -> None:
    stories, rates = found["stories"], found["rates"]
    print(f"\nwindow: {stories} synthetic stories indexed in {found['seconds']:.1f} s "
          f"({stories / found['seconds']:.0f}/s), in a fresh process")  # fmt: skip
    print(f"index memory (RSS growth while filling): {found['mib']:.1f} MiB = "
          f"{found['mib'] * 2**20 / max(stories, 1):.0f} bytes per story; "
          f"that process's peak RSS {found['peak']:.0f} MiB")  # fmt: skip
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.2f} on {os.cpu_count()} CPUs")
    print(f"throughput over the {articles} articles, {stories} stories in the window, per")
    print(f"CPU-second of the process (the three passes took {found['wall']:.1f} s wall):")
    for name, rate in rates.items():
        ratio = rate / rates["minhash-lsh"]
        print(f"  {name:<38} {rate:8.0f} articles/s   x{ratio:.3g} of minhash-lsh")


def kept_apart(docs: list[Doc], predicted: list[int]) -> dict[str, dict[str, int]]:
    """Per kind of follow-up: how many there are, and how many share no story with any
    article of another true story (so their own alert is sent)."""
    members: dict[int, set[int]] = {}
    for number, doc in enumerate(docs):
        members.setdefault(predicted[number], set()).add(doc.story)
    found: dict[str, dict[str, int]] = {}
    for number, doc in enumerate(docs):
        if doc.kind in ("original", "copy"):
            continue
        entry = found.setdefault(doc.kind, {"articles": 0, "own_story": 0})
        entry["articles"] += 1
        entry["own_story"] += members[predicted[number]] == {doc.story}
    return found


def clustering(docs: list[Doc]) -> dict[str, Any]:
    """Pairwise precision and recall of the index and of exact fingerprints, and how the
    follow-ups fared."""
    truth = [doc.story for doc in docs]
    predicted = cluster(docs)
    result: dict[str, Any] = {"articles": len(docs), "true_stories": len(set(truth))}
    for name, labels in (("minhash-lsh", predicted), ("exact fingerprint", exact_clusters(docs))):
        precision, recall, fp, fn = pairwise(truth, labels)
        result[name] = {
            "precision": None if precision != precision else round(precision, 4),
            "recall": round(recall, 4),
            "false_merges": fp,
            "missed": fn,
        }
    result["follow_ups"] = kept_apart(docs, predicted)
    return result


def _print_clustering(found: dict[str, Any]) -> None:
    print(f"\nclustering over {found['articles']} articles ({found['true_stories']} true "
          "stories), pairwise:")  # fmt: skip
    print(f"  {'method':<20} {'precision':>9} {'recall':>7} {'false merges':>12} {'missed':>7}")
    for name in ("minhash-lsh", "exact fingerprint"):
        row = found[name]
        shown = f"{row['precision']:9.4f}" if row["precision"] is not None else f"{'-':>9}"
        print(f"  {name:<20} {shown} {row['recall']:7.4f} {row['false_merges']:12d} "
              f"{row['missed']:7d}")  # fmt: skip
    print("follow-ups that kept a story of their own (so their alert is sent):")
    for kind, row in sorted(found["follow_ups"].items()):
        print(f"  {kind:<20} {row['own_story']:5d} of {row['articles']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--window", type=int, default=100_000, help="stories in the window")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    if not all((args.corpus / name / "ground-truth.json").exists() for name in SETS):
        print(f"no corpus at {args.corpus} (needs {', '.join(SETS)})", file=sys.stderr)
        return 2
    pages = load_pages(args.corpus)
    docs, counts = build_set(pages, args.seed)
    found = clustering(docs)
    pool = [s for _, _, body in pages for p in sentences_of(body) for s in p if len(s) > 40]
    window = measure_window(docs, pool, args.window, args.seed)
    if args.json:
        print(json.dumps(_summary(counts, found, window, len(docs))))
        return 0
    print(f"extractor: {_extractor()[0]}; corpus pages: {len(pages)}")
    print("set: " + ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items())))
    _print_clustering(found)
    _print_window(window, len(docs))
    return 0


def _summary(
    counts: Counter[str], found: dict[str, Any], window: dict[str, Any], articles: int
) -> dict[str, Any]:
    rates = window["rates"]
    return {
        "set": dict(sorted(counts.items())),
        "clustering": found,
        "window_stories": window["stories"],
        "window_fill_seconds": round(window["seconds"], 2),
        "index_mib": round(window["mib"], 1),
        "index_bytes_per_story": round(window["mib"] * 2**20 / max(window["stories"], 1)),
        "peak_rss_mib": round(window["peak"]),
        "articles_per_cpu_second": {name: round(rate, 1) for name, rate in rates.items()},
        "throughput_wall_seconds": round(window["wall"], 2),
        "throughput_articles": articles,
        "load_average": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
