"""bench/rules.py keeps working: a small run agrees with brute force and says so."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "rules.py"


def test_a_small_benchmark_run_reports_identical_results(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = importlib.util.spec_from_file_location("bench_rules", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    status = bench.main(["--rules", "400", "--articles", "25", "--warmup", "5", "--seed", "3"])

    out = capsys.readouterr()
    assert status == 0
    assert "rules: 400" in out.out
    assert "identical results: yes" in out.out
    assert "articles/s" in out.out
    assert "measuring" in out.err  # the progress bar goes to stderr
