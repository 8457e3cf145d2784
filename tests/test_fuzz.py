"""bench/fuzz.py at small size, in the suite: mutated pages, listing pages, feeds and
queries never raise outside the project's error tree and none takes over 2 s.

The full run (100,000 inputs, seeded from the extraction corpus) is documented in
docs/robustness.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "fuzz.py"


@pytest.mark.fuzz
def test_a_few_thousand_fuzzed_inputs_stay_in_the_error_tree_and_in_time() -> None:
    spec = importlib.util.spec_from_file_location("bench_fuzz", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_fuzz"] = bench  # its dataclass looks its module up there
    spec.loader.exec_module(bench)
    tally = bench.run(2000, seed=17, corpus=None)
    assert sum(tally.inputs.values()) == 2000
    assert not tally.crashes, tally.examples
    assert not tally.slow, tally.examples
    # The fuzzer does reach the error tree (refused feeds and queries): it is not idle.
    assert tally.expected["query"] > 0 and tally.expected["feed"] > 0


def test_surrogate_character_references_in_a_feed_are_a_feed_not_a_crash() -> None:
    from monitor.feeds import parse_feed

    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>L&#0;&#xD800;e</title>'
        b"<item><title>Un &#55296; titre &#99999999;</title><link>https://a.example/x</link>"
        b"</item></channel></rss>"
    )
    feed = parse_feed(data + b"<<<!!>>>&#xD800;", "https://a.example/feed")
    assert [e.url for e in feed.entries] == ["https://a.example/x"]
