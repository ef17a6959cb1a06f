"""Every count option of count_ngrams and prepare_corpus rejects a bad value before any work:
exit 2, a message naming the option, a fix line, no traceback (through `python -m`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CASES = [  # (pipeline, option, bad value(s), lowest allowed)
    ("count_ngrams", "--block-tokens", ["0"], 1),
    ("count_ngrams", "--block-tokens", ["-5"], 1),
    ("count_ngrams", "--buckets", ["0"], 1),
    ("count_ngrams", "--distances", ["1", "0"], 1),
    ("count_ngrams", "--distances", ["-4"], 1),
    ("count_ngrams", "--seed", ["-1"], 0),
    ("prepare_corpus", "--min-tokens", ["0"], 1),
    ("prepare_corpus", "--max-docs", ["0"], 1),
    ("prepare_corpus", "--max-tokens", ["-3"], 1),
    ("prepare_corpus", "--batch-tokens", ["0"], 1),
    ("prepare_corpus", "--batch-tokens", ["1e6"], 1),  # not a whole number
]


@pytest.mark.parametrize(("pipeline", "option", "values", "low"), CASES)
def test_bad_count_option_exits_2_with_a_fix(tmp_path, pipeline, option, values, low) -> None:
    db = tmp_path / "w.duckdb"
    out = subprocess.run(
        [sys.executable, "-m", f"pipelines.{pipeline}", "--warehouse", str(db),
         "--run-id", "r", option, *values],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert f"error: argument {option}: '{values[-1]}' is not a whole number >= {low}" in out.stderr
    assert f"\n  fix: pass an integer >= {low}" in out.stderr
    assert "Traceback" not in out.stderr
    assert not db.exists()  # refused before the warehouse was touched
