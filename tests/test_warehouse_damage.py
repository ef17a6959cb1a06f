"""Broken warehouses get a message that names the problem and the fix, never a traceback; damaged
and missing batches are found by check_warehouse and re-produced by the command it prints; a
copied or moved warehouse never reads the original's files."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from l2m_analysis.warehouse import Warehouse
from tests.test_queries import duckdb_cli

pytestmark = pytest.mark.slow  # each test builds a warehouse with the pipelines

ROOT = Path(__file__).resolve().parents[1]
ORACLE = ["--run-id", "o", "--layers", "2", "--samples", "6", "--copies", "2", "--batch-size", "3"]


def pipeline(name: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", f"pipelines.{name}", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def cli(catalog: Path, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [duckdb_cli(), "-readonly", "-csv", "-noheader", str(catalog), sql],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def assert_clear_error(out: subprocess.CompletedProcess, *needles: str) -> None:
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "fix:" in out.stderr, out.stderr
    for needle in needles:
        assert needle in out.stderr, out.stderr


@pytest.fixture
def scored(tmp_path: Path) -> Path:
    """A warehouse with one small oracle run and its bipartite estimates."""
    catalog = tmp_path / "w" / "l2m.duckdb"
    assert pipeline("score_oracle", "--warehouse", str(catalog), *ORACLE).returncode == 0
    assert pipeline("bipartite_mi", "--warehouse", str(catalog)).returncode == 0
    return catalog


def count(catalog: Path, table: str = "token_logprobs") -> int:
    with Warehouse.open(catalog, create=False) as wh:
        return wh.query(f"SELECT count(*) AS n FROM {table}")["n"][0]


def test_random_bytes_or_a_text_file_are_refused_and_left_alone(tmp_path: Path) -> None:
    for name, payload in (("random.duckdb", os.urandom(5000)), ("notes.duckdb", b"hello\n")):
        path = tmp_path / name
        path.write_bytes(payload)
        out = pipeline("fit_exponents", "--warehouse", str(path))
        assert_clear_error(out, "not a DuckDB database", "--warehouse with a new path")
        assert path.read_bytes() == payload  # never overwritten
        assert not (tmp_path / name.replace(".duckdb", "_parquet")).exists()


def test_a_directory_as_warehouse_names_the_catalog_file(scored: Path) -> None:
    out = pipeline("fit_exponents", "--warehouse", str(scored.parent))
    assert_clear_error(out, "is a directory", f"--warehouse {scored}")


@pytest.mark.parametrize("damage", ["random", "truncated", "corrupted"])
def test_a_damaged_catalog_is_rebuilt_from_the_data(scored: Path, damage: str) -> None:
    before = count(scored)
    raw = scored.read_bytes()
    if damage == "random":
        scored.write_bytes(os.urandom(len(raw)))
    elif damage == "truncated":
        scored.write_bytes(raw[:100])
    else:  # headers intact, every block after them overwritten
        scored.write_bytes(raw[:12288] + os.urandom(len(raw) - 12288))
    out = pipeline("runs", "--warehouse", str(scored))
    assert out.returncode == 0, out.stderr
    assert "rebuilt" in out.stderr and "holds only views" in out.stderr
    assert count(scored) == before
    assert cli(scored, "SELECT count(*) FROM token_logprobs").stdout.strip() == str(before)


def test_a_catalog_without_its_data_folder_is_refused(scored: Path) -> None:
    shutil.move(scored.parent / "l2m_parquet", scored.parent.parent / "elsewhere")
    out = pipeline("fit_exponents", "--warehouse", str(scored))
    assert_clear_error(out, "data folder", "is missing", "restore l2m_parquet/")


def test_a_deleted_table_folder_is_reported_and_reproduced(scored: Path) -> None:
    rows = count(scored)
    shutil.rmtree(scored.parent / "l2m_parquet" / "token_logprobs")
    check = pipeline("check_warehouse", "--warehouse", str(scored))
    assert check.returncode == 2
    assert "folder of table token_logprobs is missing" in check.stderr
    assert len(re.findall(r"^missing: token_logprobs/", check.stdout, re.M)) == 10
    command = reproduce_command(check.stdout)
    assert "pipelines.score_oracle" in command and "--run-id o" in command
    assert run_printed(command).returncode == 0
    assert pipeline("check_warehouse", "--warehouse", str(scored)).returncode == 0
    assert count(scored) == rows


def test_a_damaged_batch_is_named_then_quarantined_and_reproduced(scored: Path) -> None:
    with Warehouse.open(scored, create=False) as wh:
        estimates = wh.query("SELECT * FROM mi_estimates ORDER BY ALL").drop(
            "created_at", strict=False
        )
        path, _ = wh.batch_files("token_logprobs", "o")[0]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = os.urandom(64)
    path.write_bytes(bytes(raw))

    used = pipeline("bipartite_mi", "--warehouse", str(scored))  # a reader meets the damage
    if used.returncode != 0:  # DuckDB noticed (page checksum / decode error): told clearly
        assert_clear_error(used, "cannot be read", "check_warehouse")
    check = pipeline("check_warehouse", "--warehouse", str(scored))
    assert check.returncode == 2 and f"damaged: token_logprobs/run_id=o/{path.name}" in check.stdout
    assert "--repair" in check.stdout
    repaired = pipeline("check_warehouse", "--warehouse", str(scored), "--repair")
    assert "moved token_logprobs/run_id=o/" in repaired.stdout
    assert list((scored.parent / "l2m_parquet" / "_quarantine").rglob(path.name))  # kept aside
    assert run_printed(reproduce_command(check.stdout)).returncode == 0
    assert pipeline("check_warehouse", "--warehouse", str(scored)).returncode == 0
    assert pipeline("bipartite_mi", "--warehouse", str(scored)).returncode == 0
    with Warehouse.open(scored, create=False) as wh:
        again = wh.query("SELECT * FROM mi_estimates ORDER BY ALL").drop("created_at", strict=False)
    assert_frame_equal(again, estimates, rel_tol=1e-12)  # the re-produced batch: same numbers


def reproduce_command(check_output: str) -> str:
    match = re.search(r"^re-produce \d+ file\(s\): (python -m .+)$", check_output, re.M)
    assert match, check_output
    return match.group(1)


def run_printed(command: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[:2] == ["python", "-m"]
    return subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, capture_output=True, timeout=300)


@pytest.mark.parametrize("how", ["copy", "move"])
def test_a_copied_or_moved_warehouse_never_reads_the_original(scored: Path, how: str) -> None:
    original = scored.parent
    other = original.parent / "other"
    (shutil.copytree if how == "copy" else shutil.move)(original, other)
    moved = other / "l2m.duckdb"
    stale = cli(moved, "SELECT count(*) FROM token_logprobs")  # before the toolkit saw it
    assert stale.returncode != 0  # an error, never the other warehouse's rows
    if how == "copy":  # the guard: the original's files exist, but are not this catalog's
        assert "copied or moved" in stale.stderr and "pipelines.check_warehouse" in stale.stderr
    else:  # the original's files are gone: DuckDB names the old location, and the file it
        # names says the fix
        assert "No files found" in stale.stderr and str(original) in stale.stderr
        assert "warehouse-moved.fix--python-m-pipelines.check_warehouse" in stale.stderr
    assert pipeline("check_warehouse", "--warehouse", str(moved)).returncode == 0  # re-points
    assert pipeline("runs", "--warehouse", str(moved), "--delete", "o", "--yes").returncode == 0
    assert cli(moved, "SELECT count(*) FROM token_logprobs").stdout.strip() == "0"  # its own
    if how == "copy":  # the original still has its rows, and reads its own files
        assert cli(scored, "SELECT count(*) FROM token_logprobs").stdout.strip() == str(
            6 * (16 + 8 + 8 + 12 + 12)
        )
