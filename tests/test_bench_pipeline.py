"""Smoke test of bench/pipeline.py: a quick run prints every figure, for both sides.

The benchmark is run once, as a user would run it (``--quick``: 40 sources on 4
local origins, 10 ms latency, 10 articles), and its report is read back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "pipeline.py"
SHARED = Path(os.environ.get("MONITOR_SHARED") or ROOT.parent / "shared")
CORPUS = SHARED / "corpus" / "extraction" / "aeb"
LABEL_WIDTH = 30  # rows are "  <label padded to 28><values...>"

Section = dict[str, list[str]]


@pytest.fixture(scope="module")
def report() -> dict[str, Section]:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "resp" in run.stderr  # the progress bars went to stderr, not into the report
    sections: dict[str, Section] = {}
    current: Section = {}
    for line in run.stdout.splitlines():
        if line.startswith(("(a)", "(b)")):
            current = sections.setdefault(line[:3], {"title": [line]})
        elif line.startswith("  ") and len(line) > LABEL_WIDTH:
            current[line[:LABEL_WIDTH].strip()] = line[LABEL_WIDTH:].split()
    sections["all"] = {"text": [run.stdout]}
    return sections


def numbers(section: Section, label: str) -> list[float]:
    assert label in section, f"no row {label!r} in {sorted(section)}"
    return [float(v) for v in section[label]]


RATIO_ROWS = [
    ("(a)", "wall time (s)"),
    ("(a)", "CPU per response (ms)"),
    ("(a)", "peak RSS (MiB)"),
    ("(a)", "CPU, with children (s)"),
    ("(b)", "wall time (s)"),
    ("(b)", "CPU per response (ms)"),
    ("(b)", "peak RSS (MiB)"),
    ("(b)", "articles/s"),
]


def needs(section: str) -> None:
    if section == "(b)" and not (CORPUS / "html").is_dir():
        pytest.skip(f"cycle (b) reads the extraction corpus, absent at {CORPUS}")


@pytest.mark.parametrize(("section", "label"), RATIO_ROWS)
def test_figure_printed_for_both_sides_with_their_ratio(
    report: dict[str, Section], section: str, label: str
) -> None:
    needs(section)
    ours, naive, ratio = numbers(report[section], label)
    assert ours > 0 and naive > 0
    # Figures are rounded for print, so the ratio is checked to that precision.
    assert ratio == pytest.approx(ours / naive, rel=0.05, abs=0.002)


@pytest.mark.parametrize("section", ["(a)", "(b)"])
def test_no_feed_failed(report: dict[str, Section], section: str) -> None:
    needs(section)
    assert numbers(report[section], "failed feeds") == [0, 0]


def test_every_conditional_get_was_answered_304(report: dict[str, Section]) -> None:
    section = report["(a)"]
    assert "40 conditional GETs" in section["title"][0]
    assert section["304 answers"] == ["40/40", "40/40"]
    assert numbers(section, "responses") == [40, 40]


def test_whole_flow_stores_every_article_on_both_sides(report: dict[str, Section]) -> None:
    needs("(b)")
    section = report["(b)"]
    assert "10 new articles" in section["title"][0]
    assert numbers(section, "articles stored") == [10, 10]
    ours_alerts, naive_matches = numbers(section, "alerts (ours) / matches")
    assert ours_alerts > 0 and naive_matches > 0  # the rules do fire on the corpus pages
    # Ours reads robots.txt once per origin it crawls; the naive loop never does.
    ours, naive = numbers(section, "responses")
    assert naive == 2 + 10 and ours > naive


def test_report_names_its_method(report: dict[str, Section]) -> None:
    text = report["all"]["text"][0]
    assert "4 origins, 10 ms latency" in text
    assert "peak RSS: " in text and "process_time" in text
