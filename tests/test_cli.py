"""Every pipeline has --help, shares the warehouse conventions, and is documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = sorted(p.stem for p in (ROOT / "pipelines").glob("[a-z]*.py"))
BENCHMARKS = sorted(p.stem for p in (ROOT / "benchmarks").glob("[a-z]*.py"))


@pytest.mark.parametrize("name", PIPELINES)
def test_pipeline_has_help_with_shared_options(name: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", f"pipelines.{name}", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"python -m pipelines.{name}" in out.stdout
    assert "--warehouse" in out.stdout


@pytest.mark.parametrize("name", PIPELINES + BENCHMARKS)
def test_every_command_is_documented(name: str) -> None:
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in (ROOT / "docs").glob("*.md")
    )
    assert name in docs, f"{name} is not mentioned in README.md or docs/"


def test_missing_warehouse_exits_2_and_says_what_to_run(tmp_path: Path) -> None:
    missing = str(tmp_path / "no.duckdb")
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.fit_exponents", "--warehouse", missing],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    assert "no warehouse" in out.stderr and "pipelines.run_all" in out.stderr
    assert "Traceback" not in out.stderr
