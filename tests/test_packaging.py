"""A regular (not editable) install ships everything the toolkit reads — the named queries and
staging views included — and runs the main job from outside the source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# package data: the chart theme, the report's CSS and page scripts
DATA = ("charts/theme.json", "report/assets/report.css", "report/assets/collect_errors.js",
        "report/assets/embed.js")  # fmt: skip


@pytest.mark.slow
def test_a_wheel_install_runs_the_main_job_outside_the_checkout(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: building leaves build/ and egg-info behind
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("l2m_analysis", "pipelines", "benchmarks", "queries"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("l2m_analysis-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    data = {f"l2m_analysis/{name}" for name in DATA}
    assert data <= shipped, data - shipped
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       capture_output=True, text=True, check=True).stdout.strip()
    )  # fmt: skip
    # the dependencies (torch, duckdb, ...) come from this environment, as a path entry only:
    # its .pth files (the editable install of this checkout among them) are not processed
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert not any(name.startswith("queries/") for name in shipped)  # no bare `queries` package
    assert "l2m_queries/bipartite_mi.sql" in shipped
    where = subprocess.run(
        [python, "-c", "import l2m_analysis, l2m_queries; from l2m_analysis.sql import "
         "staging_queries; print(l2m_analysis.__file__); print(l2m_queries.__file__); "
         "print(len(staging_queries()))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    package, queries, n_staging = where.stdout.split()
    assert package.startswith(str(site)) and queries.startswith(str(site)), where.stdout
    assert int(n_staging) >= 3
    # the whole main job runs once per test session (the main_job fixture, tests/conftest.py);
    # here every step that reads files shipped with the package runs, and the model-bound steps
    # (LLM scoring, training) show they start and explain themselves from the wheel
    job = subprocess.run(
        [python, "-m", "pipelines.run_all", "--warehouse", str(tmp_path / "w" / "l2m.duckdb"),
         "--skip", "score", "bipartite", "train", "evaluate", "score-trained",
         "bipartite-trained", "fit-trained"],
        cwd=tmp_path, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    assert "main job finished" in job.stdout
    assert (tmp_path / "reports" / "l2m-report.html").is_file()
    for module in ("score_logprobs", "bipartite_mi", "train", "evaluate"):
        helped = subprocess.run([python, "-m", f"pipelines.{module}", "--help"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert helped.returncode == 0 and "usage:" in helped.stdout, helped.stderr[-2000:]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    """pyproject lists its packages (queries/ is installed as l2m_queries): a new sub-package
    must be added there, or a wheel would silently leave it out."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])  # fmt: skip
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("l2m_analysis", "pipelines", "benchmarks")
        for p in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found | {"l2m_queries"} == listed
