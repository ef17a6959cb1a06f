"""Every pipeline has --help, shares the warehouse conventions, and is documented."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from l2m_analysis.cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
# old module names kept for one release: each runs its new pipeline, not listed anywhere
ALIASES = {"twopoint_mi": "two_point_mi"}
PIPELINES = sorted(p.stem for p in (ROOT / "pipelines").glob("[a-z]*.py") if p.stem not in ALIASES)
BENCHMARKS = sorted(p.stem for p in (ROOT / "benchmarks").glob("[a-z]*.py")) + [
    p.name for p in (ROOT / "benchmarks").iterdir() if (p / "__main__.py").is_file()
]


@pytest.mark.parametrize("name", PIPELINES)
def test_pipeline_has_help_with_shared_options(name: str) -> None:
    """In process: the parser every pipeline builds explains itself and takes --warehouse."""
    text = importlib.import_module(f"pipelines.{name}").build_parser().format_help()
    assert f"python -m pipelines.{name}" in text
    assert "--warehouse" in text


@pytest.mark.parametrize(("old", "new"), ALIASES.items())
def test_old_pipeline_names_run_the_new_pipeline(old: str, new: str) -> None:
    assert (
        importlib.import_module(f"pipelines.{old}").main
        is importlib.import_module(f"pipelines.{new}").main
    )


def test_hidden_aliases_parse_but_stay_out_of_help() -> None:
    from pipelines import run_all, score_oracle

    parser = score_oracle.build_parser()
    assert parser.parse_args(["--pairs", "7"]).samples == 7
    assert "--pairs" not in parser.format_help()
    assert run_all.build_parser().parse_args(["--only", "twopoint"]).only == ["two-point"]


def test_help_works_from_the_command_line() -> None:
    """One real `python -m pipelines.<name> --help` (the in-process test covers the rest)."""
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.count_ngrams", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "python -m pipelines.count_ngrams" in out.stdout and "--scheduler" in out.stdout


def readme_section(title: str) -> str:
    """The README's text from the line starting with ``title`` to the next heading."""
    text = (ROOT / "README.md").read_text()
    start = text.index(title)
    end = text.find("\n#", start + 1)
    return text[start : end if end > 0 else None]


@pytest.mark.parametrize("name", PIPELINES)
def test_every_pipeline_has_a_row_in_the_readme_table(name: str) -> None:
    rows = [line for line in readme_section("Pipelines (").splitlines() if line.startswith("|")]
    mine = [line for line in rows if line.startswith(f"| `{name}` |")]
    assert len(mine) == 1, f"add a row '| `{name}` | what it does |' to the README's pipelines"
    assert len(mine[0].split("|")[2].strip()) > 10, f"say what {name} does"


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_is_listed_in_the_readme(name: str) -> None:
    assert f"`{name}`" in readme_section("Benchmarks ("), f"list `{name}` under Benchmarks"


def test_missing_warehouse_exits_2_and_says_what_to_run(tmp_path: Path, capsys) -> None:
    from pipelines import fit_exponents

    missing = str(tmp_path / "no.duckdb")
    assert run_cli(fit_exponents.main, ["--warehouse", missing]) == 2
    err = capsys.readouterr().err
    assert "no warehouse" in err and "pipelines.run_all" in err
    assert "Traceback" not in err
