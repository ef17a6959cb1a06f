"""Schema 1 → 2: result tables move out of the DuckDB file into Parquet, ``pair_id`` becomes
``sample_id``, and every batch gets its commit record.

Schema 1 kept runs, entropies, mi_estimates, fits and position_metrics as DuckDB tables and
listed the Parquet batches in a ``_batches`` table; its file was locked by every writer. The
migration reads it read-only, commits every row and batch the schema-2 way (``files.py``), then
``opening.prepare`` writes the marker and replaces the old file by a views-only catalog. Killed
half-way, it simply runs again (the old file is replaced last).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from l2m_analysis.errors import WarehouseError
from l2m_analysis.warehouse import schema
from l2m_analysis.warehouse.batches import conform
from l2m_analysis.warehouse.files import commit_file, file_name, partition_key, partition_name

_PAIR_KEY = re.compile(r"^pairs-d(\d+)(-baseline)?$")
_ORDER_KEY = re.compile(r"^order-(\d+)$")


def migrate(catalog: Path, root: Path, notify: Callable[[str], None]) -> None:
    """Move a schema-1 warehouse at ``catalog`` into ``root`` (``opening.prepare`` then writes
    the schema-2 marker and rebuilds the catalog)."""
    notify(f"note: migrating {catalog} from schema 1 to {schema.SCHEMA_VERSION} (once)")
    try:
        con = duckdb.connect(str(catalog), read_only=True)
    except duckdb.Error as err:
        raise WarehouseError(
            f"cannot open the schema-1 warehouse {catalog} to migrate it: {err}",
            "close other sessions on it (a pipeline or the DuckDB CLI), then rerun",
        ) from err
    try:
        results = {t: _read(con, t) for t in schema.RESULT_TABLES}
        batches = _read(con, "_batches")
    finally:
        con.close()
    for table, rows in results.items():
        if rows is not None and rows.height:
            _commit_results(root, table, _upgrade(table, rows))
    lost = _move_batches(catalog.parent, root, batches)
    _drop_unlisted(root, batches)
    if lost:
        notify(
            f"warning: {len(lost)} committed batches listed by {catalog} were missing "
            f"({', '.join(lost[:3])}{', ...' if len(lost) > 3 else ''}); rerun their producers"
        )
    # opening.prepare then creates the missing tables, writes the marker and rebuilds the
    # catalog as views only


def _read(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame | None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if table not in tables:
        return None
    return pl.from_arrow(con.sql(f"SELECT * FROM {table}").to_arrow_table())


def _upgrade(table: str, rows: pl.DataFrame) -> pl.DataFrame:
    """Schema-1 rows -> schema-2 columns (new columns NULL, JSON as text)."""
    for name in ("config", "detail"):
        if name in rows.columns:
            rows = rows.with_columns(pl.col(name).cast(pl.String))
    if table == "runs":
        rows = rows.with_columns(updated_at=pl.col("created_at"))
    if table == "fits":
        rows = rows.with_columns(n_dropped=pl.lit(None, pl.Int32))
    return rows


def _commit_results(root: Path, table: str, rows: pl.DataFrame) -> None:
    target = schema.RESULT_TABLES[table]
    keys = list(schema.PARTITIONS[table])
    for values, part in rows.group_by(keys, maintain_order=True):
        partition = dict(zip(keys, values, strict=True))
        arrow = conform(part.to_arrow(), target, table, None, fill_missing=True)
        name = "run" if table == "runs" else partition_name(table, partition)
        key = partition["run_id"] if table == "runs" else partition_key(partition)
        commit_file(root, table, partition["run_id"], key, arrow, name=name)


def _move_batches(folder: Path, root: Path, batches: pl.DataFrame | None) -> list[str]:
    """Re-commit every listed batch in place (same file name); returns the missing ones."""
    lost = []
    for b in [] if batches is None else batches.iter_rows(named=True):
        table, run_id, key = b["table_name"], b["run_id"], b["batch_key"]
        path = folder / b["path"]
        if not path.exists():
            lost.append(f"{table}/{run_id}/{key}")
            continue
        arrow = pq.read_table(path)
        if "pair_id" in arrow.column_names:
            arrow = arrow.rename_columns(
                ["sample_id" if c == "pair_id" else c for c in arrow.column_names]
            )
        arrow = conform(arrow, schema.BULK_TABLES[table], table, run_id)
        commit_file(root, table, run_id, key, arrow, _meta_of(table, key), name=file_name(key))
        if path.name != f"{file_name(key)}.parquet":  # schema-1 names are schema-2 names
            path.unlink()
    return lost


def _drop_unlisted(root: Path, batches: pl.DataFrame | None) -> None:
    """Schema 1 never counted a Parquet file it had not listed (a killed writer's leftovers):
    remove them, so that schema 2, where every file in a table folder is data, agrees."""
    listed = set() if batches is None else set(batches["path"].to_list())
    for table in schema.BULK_TABLES:
        for path in (root / table).glob("run_id=*/*"):
            rel = path.relative_to(root.parent).as_posix()
            if path.suffix == ".tmp" or (path.suffix == ".parquet" and rel not in listed):
                path.unlink()


def _meta_of(table: str, key: str) -> dict:
    """The batch facts schema 1 kept only in its keys."""
    if table == "pair_counts" and (m := _PAIR_KEY.match(key)):
        return {"distance": int(m.group(1)), "shuffled": m.group(2) is not None}
    if table == "ngram_counts" and (m := _ORDER_KEY.match(key)):
        return {"order": int(m.group(1))}
    return {}
