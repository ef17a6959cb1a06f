"""Shared fixtures: the main job's warehouse, built once per test session by the real command."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class MainJob:
    """What `python -m pipelines.run_all` left: its warehouse, its report, its output."""

    catalog: Path
    report: Path
    stdout: str


@pytest.fixture(scope="session")
def main_job(tmp_path_factory) -> MainJob:
    """`python -m pipelines.run_all` as the README runs it, in a fresh folder (once)."""
    folder = tmp_path_factory.mktemp("main-job")
    catalog = folder / "warehouse" / "l2m.duckdb"
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.run_all", "--warehouse", str(catalog)],
        cwd=folder, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    return MainJob(catalog, folder / "reports" / "l2m-report.html", out.stdout)


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (reproducible timings of tiny models), restored after."""
    import torch

    from l2m_analysis.models.build import configure_torch

    before = torch.get_num_threads()
    configure_torch(1)
    yield
    torch.set_num_threads(before)
