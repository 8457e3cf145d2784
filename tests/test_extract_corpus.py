"""Regression check on the article-extraction-benchmark corpus (``shared/corpus``).

The corpus is read in place (never copied into the project) and the test skips when
it is absent. The full comparison with trafilatura is ``bench/extraction.py``.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from monitor.extract import extract_article

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONITOR_SHARED", ROOT.parent / "shared"))
AEB = SHARED / "corpus" / "extraction" / "aeb"
WCXB = SHARED / "corpus" / "extraction" / "wcxb-dev"
MIN_F1 = 0.974
MIN_PRECISION = 0.965
# trafilatura's 0.9169 on wcxb-dev (bench/extraction.py) plus 0.01
MIN_WCXB_F1 = 0.927


@functools.cache
def _metric() -> ModuleType:
    path = ROOT / "bench" / "extraction_metric.py"
    spec = importlib.util.spec_from_file_location("extraction_metric", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["extraction_metric"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _summary(folder: Path) -> object:
    metric = _metric()
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    scores = []
    for page_id, item in sorted(truth.items()):
        html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        text = extract_article(html, item.get("url")).text
        scores.append(metric.score_page(text, item["articleBody"]))
    summary = metric.summarize(scores)
    assert summary.pages == len(truth)
    return summary


@pytest.mark.skipif(not (AEB / "ground-truth.json").exists(), reason=f"no corpus at {AEB}")
def test_aeb_f1_and_precision() -> None:
    summary: Any = _summary(AEB)
    assert summary.pages >= 180
    assert summary.f1 >= MIN_F1, summary
    assert summary.precision >= MIN_PRECISION, summary


@pytest.mark.skipif(not (WCXB / "ground-truth.json").exists(), reason=f"no corpus at {WCXB}")
def test_wcxb_dev_f1_beats_trafilatura() -> None:
    # Pages of every kind (shops, guides, docs, blogs), not only news.
    summary: Any = _summary(WCXB)
    assert summary.pages >= 700
    assert summary.f1 >= MIN_WCXB_F1, summary


def test_metric_scores_what_the_readme_says() -> None:
    metric = _metric()
    perfect = metric.score_page("one two three four five", "one two three four five")
    assert (perfect.tp, perfect.fp, perfect.fn) == (2, 0, 0)
    short = metric.score_page("hello world", "hello world")
    assert (short.tp, short.fp, short.fn) == (1, 0, 0)
    half = metric.score_page("a b c d e f", "a b c d x y")
    assert (half.tp, half.fp, half.fn) == (1, 2, 2)
    summary = metric.summarize([perfect, half, metric.score_page("", "")])
    assert summary.precision == pytest.approx((1 + 1 / 3 + 1) / 3)
    assert summary.recall == pytest.approx((1 + 1 / 3 + 1) / 3)
