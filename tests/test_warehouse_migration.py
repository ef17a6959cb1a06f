"""A schema-1 warehouse (tables inside the .duckdb file, batches listed in _batches, pair_id) is
migrated once to schema 2: every row and batch kept, pair_id renamed sample_id, leftovers of
killed schema-1 writers dropped, the file replaced by a views-only catalog."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from l2m_analysis.warehouse import Warehouse
from l2m_analysis.warehouse.files import file_name
from tests.test_queries import duckdb_cli

# the schema-1 DDL, frozen as it was written by l2m-analysis 0.1.0 (stop 6)
V1_DDL = [
    "CREATE TABLE _meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE _batches (table_name VARCHAR NOT NULL, run_id VARCHAR NOT NULL, batch_key "
    "VARCHAR NOT NULL, path VARCHAR NOT NULL, n_rows BIGINT NOT NULL, committed_at TIMESTAMP "
    "DEFAULT current_timestamp, PRIMARY KEY (table_name, run_id, batch_key))",
    "CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, model VARCHAR, "
    "tokenizer VARCHAR, dataset VARCHAR, config JSON, seed BIGINT, package_version VARCHAR, "
    "git_commit VARCHAR, created_at TIMESTAMP DEFAULT current_timestamp, status VARCHAR NOT NULL)",
    "CREATE TABLE entropies (run_id VARCHAR NOT NULL, source VARCHAR NOT NULL, quantity VARCHAR "
    "NOT NULL, distance INTEGER, shuffled BOOLEAN DEFAULT false, estimator VARCHAR NOT NULL, "
    "value DOUBLE NOT NULL, stderr DOUBLE, n BIGINT)",
    "CREATE TABLE mi_estimates (run_id VARCHAR NOT NULL, source VARCHAR NOT NULL, quantity "
    "VARCHAR NOT NULL, estimator VARCHAR NOT NULL, length INTEGER, split_at INTEGER, ratio "
    "INTEGER, distance INTEGER, value DOUBLE NOT NULL, stderr DOUBLE, n BIGINT)",
    "CREATE TABLE fits (run_id VARCHAR NOT NULL, source VARCHAR NOT NULL, quantity VARCHAR NOT "
    "NULL, estimator VARCHAR NOT NULL, ratio INTEGER, law VARCHAR NOT NULL, exponent DOUBLE, "
    "exponent_lo DOUBLE, exponent_hi DOUBLE, amplitude DOUBLE, offset_c DOUBLE, r2 DOUBLE, aic "
    "DOUBLE, bic DOUBLE, n_points INTEGER, x_min DOUBLE, x_max DOUBLE, preferred_law VARCHAR, "
    "detail JSON, created_at TIMESTAMP DEFAULT current_timestamp)",
    "CREATE TABLE position_metrics (run_id VARCHAR NOT NULL, model VARCHAR, seq_len INTEGER NOT "
    "NULL, position INTEGER NOT NULL, kl DOUBLE, nll DOUBLE)",
    "INSERT INTO _meta VALUES ('schema_version', '1')",
]


def write_v1(folder: Path) -> Path:
    """A small schema-1 warehouse: a scored run, a counted corpus run, estimates and a fit."""
    catalog = folder / "l2m.duckdb"
    data = folder / "l2m_parquet"
    con = duckdb.connect(str(catalog), config={"storage_compatibility_version": "v1.5.0"})
    for ddl in V1_DDL:
        con.execute(ddl)
    con.execute(
        "INSERT INTO runs (run_id, kind, dataset, config, status) VALUES "
        "('scored', 'oracle', 'g', '{\"pairs\": 2}', 'complete'), "
        "('books', 'corpus', 'b', '{}', 'complete')"
    )
    con.execute(
        "INSERT INTO mi_estimates VALUES ('scored', 'g', 'bipartite', 'vclub', 4, 2, 2, NULL, "
        "0.5, 0.1, 2), ('books', 'b', 'two_point', 'grassberger', NULL, NULL, NULL, 2, 1.2, "
        "0.01, 100)"
    )
    con.execute(
        "INSERT INTO fits (run_id, source, quantity, estimator, ratio, law, exponent, detail) "
        "VALUES ('books', 'b', 'two_point', 'grassberger', NULL, 'decay', 1.4, '{\"n_boot\": 5}')"
    )
    batches = {
        ("token_logprobs", "scored", "no_split/pairs=0-2"): pa.table({
            "run_id": ["scored"] * 4, "pair_id": [0, 0, 1, 1],
            "condition": ["no_split"] * 4, "split_at": pa.array([0] * 4, pa.int32()),
            "position": pa.array([0, 1, 0, 1], pa.int32()), "token_id": [-1] * 4,
            "logprob": [-1.0, -2.0, -3.0, -4.0],
        }),
        ("pair_counts", "books", "pairs-d000002-baseline"): pa.table({
            "run_id": ["books"], "distance": pa.array([2], pa.int32()), "shuffled": [True],
            "count": [3], "n_items": [7],
        }),
    }  # fmt: skip
    for (table, run_id, key), arrow in batches.items():
        path = data / table / f"run_id={run_id}" / f"{file_name(key)}.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(arrow, path)
        rel = path.relative_to(folder).as_posix()
        con.execute(
            "INSERT INTO _batches (table_name, run_id, batch_key, path, n_rows) "
            "VALUES (?, ?, ?, ?, ?)",
            [table, run_id, key, rel, arrow.num_rows],
        )
    # a schema-1 writer killed between rename and record left an unlisted file
    orphan = data / "token_logprobs" / "run_id=scored" / "orphan.parquet"
    pq.write_table(next(iter(batches.values())), orphan)
    con.close()
    return catalog


def test_schema_1_is_migrated_once_keeping_every_row(tmp_path: Path, capsys) -> None:
    catalog = write_v1(tmp_path)
    with Warehouse.open(catalog) as wh:
        logprobs = wh.query("SELECT * FROM token_logprobs ORDER BY sample_id, position")
        assert logprobs["sample_id"].to_list() == [0, 0, 1, 1]  # pair_id renamed
        assert "pair_id" not in logprobs.columns and logprobs.height == 4  # orphan dropped
        runs = wh.query("SELECT run_id, config, status FROM runs ORDER BY run_id")
        assert runs.rows() == [("books", "{}", "complete"), ("scored", '{"pairs": 2}', "complete")]
        estimates = wh.query("SELECT run_id, estimator, value FROM mi_estimates ORDER BY run_id")
        assert estimates.rows() == [("books", "grassberger", 1.2), ("scored", "vclub", 0.5)]
        fit = wh.query("SELECT exponent, detail FROM fits").row(0)
        assert fit[0] == 1.4 and json.loads(fit[1]) == {"n_boot": 5}
        (record,) = wh.batches("pair_counts", "books")
        assert record.meta == {"distance": 2, "shuffled": True}  # kept as data, not in a key
        assert wh.committed_batches("token_logprobs", "scored") == {"no_split/pairs=0-2"}
    assert "migrating" in capsys.readouterr().err
    with duckdb.connect(str(catalog), read_only=True) as con:  # a views-only catalog now
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()[0][0] == 0
    Warehouse.open(catalog).close()
    assert "migrating" not in capsys.readouterr().err  # once
    out = subprocess.run(
        [duckdb_cli(), "-readonly", "-csv", "-noheader", str(catalog),
         "SELECT sum(logprob) FROM token_logprobs"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0 and float(out.stdout) == -10.0


def test_migration_reports_batches_that_were_already_lost(tmp_path: Path, capsys) -> None:
    catalog = write_v1(tmp_path)
    lost = tmp_path / "l2m_parquet" / "pair_counts"
    for path in lost.rglob("*.parquet"):
        path.unlink()
    with Warehouse.open(catalog) as wh:
        assert wh.query("SELECT count(*) AS n FROM pair_counts")["n"][0] == 0
        assert wh.query("SELECT count(*) AS n FROM token_logprobs")["n"][0] == 4
    err = capsys.readouterr().err
    assert "1 committed batches listed by" in err and "pair_counts/books/pairs-d000002" in err
    assert pl.read_parquet(next((tmp_path / "l2m_parquet" / "runs").rglob("run.parquet"))).height
