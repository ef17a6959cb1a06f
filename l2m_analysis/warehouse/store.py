"""The warehouse: one DuckDB file plus per-run Parquet batches exposed as views.

Layout for ``warehouse/l2m.duckdb``::

    warehouse/l2m.duckdb                                   runs, entropies, mi_estimates, fits, ...
    warehouse/l2m_parquet/<table>/run_id=<id>/<batch>.parquet   token_logprobs, tokens, counts

A Parquet batch is committed in three steps: write ``<batch>.parquet.tmp``, rename it to
``<batch>.parquet`` (atomic), record it in ``_batches``. On open, files that were renamed but
never recorded (a run killed between the last two steps) and stray ``.tmp`` files are removed,
so the views show exactly the committed batches and a rerun rewrites the lost batch once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import l2m_analysis
from l2m_analysis.cli import default_warehouse_path
from l2m_analysis.errors import InputError, WarehouseError
from l2m_analysis.warehouse import schema
from l2m_analysis.warehouse.batches import as_arrow, check_run_id, conform, duck_type, git_commit
from l2m_analysis.warehouse.queries import read_query, sql_to_polars

# Migrations from an older schema version: {old_version: [SQL, ...]} bringing it to old + 1.
MIGRATIONS: dict[int, list[str]] = {}


class Warehouse:
    """An open warehouse. Use ``Warehouse.open(path)``, ideally as a context manager."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self.con = con
        self.parquet_root = path.parent / f"{path.stem}_parquet"

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path | None = None, *, create: bool = True) -> Warehouse:
        """Open (and with ``create`` make) the warehouse at ``path`` (default: see cli.py)."""
        path = Path(path) if path is not None else default_warehouse_path()
        path = path.expanduser().resolve()
        if not path.exists() and not create:
            raise WarehouseError(
                f"no warehouse at {path}",
                "run `python -m pipelines.run_all` (or a producer such as "
                "`python -m pipelines.gaussian_mi`) first, or pass --warehouse PATH",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # a new file is written in a format the DuckDB CLI can read (schema.py)
            con = duckdb.connect(str(path), config=schema.CONNECT_CONFIG)
        except duckdb.IOException as err:
            raise WarehouseError(
                f"cannot open {path}: {err}",
                "another process (a pipeline or the DuckDB CLI) may hold it; close it and retry",
            ) from err
        wh = cls(path, con)
        wh._ensure_schema()
        wh._drop_uncommitted_files()
        wh._refresh_views()
        return wh

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def _ensure_schema(self) -> None:
        existing = {
            r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        if existing and "_meta" not in existing:
            raise WarehouseError(
                f"{self.path} is a DuckDB file but not an l2m-analysis warehouse (no _meta table)",
                "point --warehouse at a new file or an existing l2m warehouse",
            )
        for ddl in (*schema.META_TABLES.values(), *schema.DUCKDB_TABLES.values()):
            self.con.execute(ddl)
        rows = self.con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchall()
        row = rows[0] if rows else None
        if row is None:
            self.con.execute(
                "INSERT INTO _meta VALUES ('schema_version', ?)", [str(schema.SCHEMA_VERSION)]
            )
            return
        version = int(row[0])
        if version > schema.SCHEMA_VERSION:
            raise WarehouseError(
                f"{self.path} has schema version {version}, newer than this toolkit's "
                f"{schema.SCHEMA_VERSION}",
                "upgrade l2m-analysis (pip install -e . in an up-to-date checkout)",
            )
        while version < schema.SCHEMA_VERSION:
            if version not in MIGRATIONS:
                raise WarehouseError(
                    f"{self.path} has schema version {version} and no migration to "
                    f"{schema.SCHEMA_VERSION} exists",
                    "re-create the warehouse by rerunning the producing pipelines",
                )
            for sql in MIGRATIONS[version]:
                self.con.execute(sql)
            version += 1
            self.con.execute(
                "UPDATE _meta SET value = ? WHERE key = 'schema_version'", [str(version)]
            )

    def _drop_uncommitted_files(self) -> None:
        if not self.parquet_root.exists():
            return
        committed = {r[0] for r in self.con.execute("SELECT path FROM _batches").fetchall()}
        for file in self.parquet_root.rglob("*"):
            rel = file.relative_to(self.path.parent).as_posix()
            if file.is_file() and (file.suffix == ".tmp" or rel not in committed):
                file.unlink()

    def _refresh_views(self, tables: list[str] | None = None) -> None:
        """(Re)create each Parquet table's view with the absolute path of its files."""
        for table in tables or list(schema.PARQUET_TABLES):
            has_files = self.con.execute(
                "SELECT count(*) FROM _batches WHERE table_name = ?", [table]
            ).fetchall()[0][0]
            if has_files:
                glob = (self.parquet_root / table / "*" / "*.parquet").as_posix()
                body = f"SELECT * FROM read_parquet('{glob}', union_by_name = true)"
            else:  # an empty view with the right column types
                cols = ", ".join(
                    f"CAST(NULL AS {duck_type(f.type)}) AS {f.name}"
                    for f in schema.PARQUET_TABLES[table]
                )
                body = f"SELECT {cols} WHERE false"
            self.con.execute(f"CREATE OR REPLACE VIEW {table} AS {body}")

    # ------------------------------------------------------------------ runs
    def start_run(
        self,
        kind: str,
        *,
        run_id: str | None = None,
        model: str | None = None,
        tokenizer: str | None = None,
        dataset: str | None = None,
        config: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> str:
        """Register a run (status ``running``) and return its id; an existing id is resumed.

        Resuming requires the same kind and config, so a rerun never mixes two setups.
        """
        config_json = json.dumps(config or {}, sort_keys=True, default=str)
        if run_id is None:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            run_id = f"{kind}-{stamp}-{secrets.token_hex(2)}"
        check_run_id(run_id)
        found = self.con.execute(
            "SELECT kind, CAST(config AS VARCHAR) FROM runs WHERE run_id = ?", [run_id]
        ).fetchall()
        old = found[0] if found else None
        if old is not None:
            old_config = json.dumps(json.loads(old[1] or "{}"), sort_keys=True)
            if old[0] != kind or old_config != config_json:
                raise WarehouseError(
                    f"run {run_id!r} already exists with kind {old[0]!r} and a different config",
                    "rerun with the original options to resume it, or choose a new --run-id",
                )
            self.con.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", [run_id])
            return run_id
        self.con.execute(
            "INSERT INTO runs (run_id, kind, model, tokenizer, dataset, config, seed, "
            "package_version, git_commit, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')",
            [
                run_id,
                kind,
                model,
                tokenizer,
                dataset,
                config_json,
                seed,
                l2m_analysis.__version__,
                git_commit(),
            ],
        )
        return run_id

    def finish_run(self, run_id: str, status: str = "complete") -> None:
        self.require_run(run_id)
        self.con.execute("UPDATE runs SET status = ? WHERE run_id = ?", [status, run_id])

    def require_run(self, run_id: str) -> dict[str, Any]:
        """The ``runs`` row of ``run_id``; a clear error listing known runs if there is none."""
        rows = self.query("SELECT * FROM runs WHERE run_id = ?", [run_id])
        if rows.is_empty():
            known = self.query("SELECT run_id FROM runs ORDER BY created_at")["run_id"].to_list()
            raise WarehouseError(
                f"unknown run id {run_id!r} in {self.path}",
                f"use one of: {', '.join(known)}" if known else "no runs yet: run a producer first",
            )
        return rows.row(0, named=True)

    # ------------------------------------------------------------------ bulk tables
    def committed_batches(self, table: str, run_id: str) -> set[str]:
        rows = self.con.execute(
            "SELECT batch_key FROM _batches WHERE table_name = ? AND run_id = ?", [table, run_id]
        ).fetchall()
        return {r[0] for r in rows}

    def batch_files(self, table: str, run_id: str) -> list[tuple[Path, int]]:
        """The run's committed Parquet files of `table` in batch-key order, with row counts."""
        rows = self.con.execute(
            "SELECT path, n_rows FROM _batches WHERE table_name = ? AND run_id = ? "
            "ORDER BY batch_key",
            [table, run_id],
        ).fetchall()
        return [(self.path.parent / path, int(n)) for path, n in rows]

    def append_batch(
        self, table: str, run_id: str, batch_key: str, data: pa.Table | pl.DataFrame
    ) -> bool:
        """Commit one batch of a Parquet table atomically; False if it was committed before."""
        target = schema.PARQUET_TABLES.get(table)
        if target is None:
            raise InputError(
                f"{table!r} is not a Parquet table", f"use one of {sorted(schema.PARQUET_TABLES)}"
            )
        check_run_id(run_id)
        if batch_key in self.committed_batches(table, run_id):
            return False
        arrow = conform(as_arrow(data), target, table, run_id)
        digest = hashlib.sha1(batch_key.encode()).hexdigest()[:10]
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", batch_key)[:80]
        final = self.parquet_root / table / f"run_id={run_id}" / f"{stem}-{digest}.parquet"
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.name + ".tmp")
        pq.write_table(arrow, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        first = not self.con.execute(
            "SELECT count(*) FROM _batches WHERE table_name = ?", [table]
        ).fetchall()[0][0]
        self.con.execute(
            "INSERT INTO _batches (table_name, run_id, batch_key, path, n_rows) VALUES (?,?,?,?,?)",
            [
                table,
                run_id,
                batch_key,
                final.relative_to(self.path.parent).as_posix(),
                arrow.num_rows,
            ],
        )
        if first:
            self._refresh_views([table])
        return True

    def scored_runs(self, conditions: tuple[str, ...], run_id: str | None, fix: str) -> list[str]:
        """Runs with ``token_logprobs`` rows in any of ``conditions`` (just ``run_id`` if given).

        Raises a WarehouseError naming the runs that do have such rows, and ``fix``.
        """
        if run_id is not None:
            self.require_run(run_id)
        marks = ", ".join("?" for _ in conditions)
        scored = self.query(
            f"SELECT DISTINCT run_id FROM token_logprobs WHERE condition IN ({marks}) "
            "ORDER BY run_id",
            list(conditions),
        )["run_id"].to_list()
        what = "/".join(conditions)
        if run_id is not None and run_id not in scored:
            raise WarehouseError(
                f"run {run_id!r} has no {what} rows in token_logprobs of {self.path}",
                f"{fix}; runs that have them: {', '.join(scored) or 'none'}",
            )
        if not scored:
            raise WarehouseError(f"no scored {what} log-probs in {self.path}", fix)
        return [run_id] if run_id is not None else scored

    # ------------------------------------------------------------------ result tables
    def replace_rows(self, table: str, data: pa.Table | pl.DataFrame, where: dict[str, Any]) -> int:
        """Delete the rows of ``table`` matching ``where``, insert ``data``; one transaction."""
        if table not in schema.DUCKDB_TABLES:
            raise InputError(
                f"{table!r} is not a result table", f"use one of {sorted(schema.DUCKDB_TABLES)}"
            )
        arrow = as_arrow(data)
        columns = self._columns(table)
        unknown = [c for c in arrow.column_names if c not in columns]
        if unknown or any(c not in columns for c in where):
            raise InputError(
                f"columns {unknown or list(where)} are not in table {table}",
                f"{table} has columns {columns} (see docs/warehouse.md)",
            )
        conditions = " AND ".join(f"{c} IS NOT DISTINCT FROM ?" for c in where) or "true"
        names = ", ".join(arrow.column_names)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"DELETE FROM {table} WHERE {conditions}", list(where.values()))
            if arrow.num_rows:
                self.con.register("_incoming", arrow)
                self.con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _incoming")
                self.con.unregister("_incoming")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        return arrow.num_rows

    def _columns(self, table: str) -> list[str]:
        rows = self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ reading
    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run SQL against the warehouse; the answer as a Polars frame."""
        return sql_to_polars(self.con, sql, params)

    def query_file(self, name: str, where: dict[str, Any] | None = None) -> pl.DataFrame:
        """Run ``queries/<name>.sql`` unchanged, keeping rows whose columns equal ``where``."""
        where = where or {}
        conditions = " AND ".join(f"q.{c} = ?" for c in where) or "true"
        return self.query(
            f"SELECT * FROM (\n{read_query(name)}\n) AS q WHERE {conditions}", list(where.values())
        )

    def table_counts(self) -> dict[str, int]:
        """Rows per research table (Parquet views and result tables)."""
        names = [*schema.PARQUET_TABLES, *schema.DUCKDB_TABLES]
        return {t: self.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in names}
