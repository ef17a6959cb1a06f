"""pipelines.fit_exponents replaces exactly the series it fitted: no call loses another fit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from l2m_analysis.cli import run_cli
from l2m_analysis.fits.series import fit_mi_series
from l2m_analysis.warehouse import Warehouse
from pipelines import fit_exponents
from tests.test_fit_series import planted_estimates

ROOT = Path(__file__).resolve().parents[1]
SERIES = ["source", "quantity", "estimator", "law"]


@pytest.fixture
def fitted(tmp_path: Path) -> Path:
    """A warehouse whose one run holds three planted series (two bipartite sources and a
    two-point one), all fitted once."""
    path = tmp_path / "l2m.duckdb"
    with Warehouse.open(path) as wh:
        wh.start_run("planted", run_id="planted")
        wh.replace_partitions("mi_estimates", planted_estimates())
    assert run_cli(fit_exponents.main, ["--warehouse", str(path), "--bootstrap", "20"]) == 0
    return path


def stored_fits(path: Path) -> pl.DataFrame:
    with Warehouse.open(path, create=False) as wh:
        return wh.query("SELECT * FROM fits ORDER BY source, quantity, estimator, law")


def test_a_full_fit_writes_every_series_once(fitted: Path) -> None:
    fits = stored_fits(fitted)
    assert fits.select(SERIES).rows() == [
        ("planted_decay", "two_point", "grassberger", "decay"),
        ("planted_log", "bipartite", "exact", "log"),
        ("planted_log", "bipartite", "exact", "power"),
        ("planted_power", "bipartite", "exact", "log"),
        ("planted_power", "bipartite", "exact", "power"),
    ]
    assert run_cli(fit_exponents.main, ["--warehouse", str(fitted), "--bootstrap", "20"]) == 0
    assert stored_fits(fitted).height == 5  # a rerun replaces, never duplicates


@pytest.mark.parametrize(
    ("options", "refitted"),
    [
        (["--quantity", "bipartite", "--json"], {"planted_power", "planted_log"}),
        (["--quantity", "two_point"], {"planted_decay"}),
        (["--source", "planted_log"], {"planted_log"}),
    ],
)
def test_a_partial_fit_keeps_every_other_series(fitted: Path, options, refitted, capsys) -> None:
    before = stored_fits(fitted)
    capsys.readouterr()
    assert run_cli(fit_exponents.main, ["--warehouse", str(fitted), *options]) == 0
    after = stored_fits(fitted)
    assert after.select(SERIES).rows() == before.select(SERIES).rows()  # nothing lost
    changed = after.filter(pl.col("created_at") != before["created_at"])
    assert set(changed["source"]) == refitted  # and only the series asked for were rewritten
    if "--json" in options:
        payload = json.loads(capsys.readouterr().out)
        assert {f["source"] for f in payload["fits"]} == refitted
        assert all(isinstance(f["detail"], dict) for f in payload["fits"])  # no JSON in strings


def test_a_call_that_fits_nothing_deletes_nothing_and_says_so(fitted: Path, capsys) -> None:
    before = stored_fits(fitted)
    capsys.readouterr()
    assert run_cli(fit_exponents.main, ["--warehouse", str(fitted), "--min-points", "100"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps at 80 columns
    assert "nothing was fitted, so no stored fit was changed" in out
    assert out.count("skipped") == 3 and "earlier fit of it, if any, is kept" in out
    assert stored_fits(fitted).equals(before)


@pytest.mark.slow  # subprocesses
def test_pipeline_prints_json_and_an_80_column_table(fitted: Path) -> None:
    cmd = [sys.executable, "-m", "pipelines.fit_exponents", "--warehouse", str(fitted)]
    out = subprocess.run([*cmd, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert {f["law"] for f in payload["fits"]} == {"power", "log", "decay"}
    table = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert re.search(r"β = 0\.60\d", table.stdout) and re.search(r"α = 0\.(79|80)", table.stdout)
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


def test_pipeline_on_empty_warehouse_says_what_to_run(tmp_path: Path) -> None:
    path = tmp_path / "l2m.duckdb"
    Warehouse.open(path).close()
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.fit_exponents", "--warehouse", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2
    assert "no MI estimates" in out.stderr and "pipelines.gaussian_mi" in out.stderr


def test_table_prints_open_interval_ends(capsys: pytest.CaptureFixture[str]) -> None:
    rows = fit_mi_series(planted_estimates()).rows
    open_ended = rows.with_columns(  # the fits table stores an infinite end as NULL
        pl.when(pl.col("law") == "decay").then(None).otherwise(pl.col("exponent_hi"))
        .alias("exponent_hi"),
        pl.when(pl.col("law") == "decay").then(None).otherwise(pl.col("r2")).alias("r2"),
    )  # fmt: skip
    fit_exponents.print_fits(open_ended, [])
    line = next(x for x in capsys.readouterr().out.splitlines() if "α =" in x)
    assert re.search(r"\[0\.\d+, ∞\]", line)
