"""The warehouse: Parquet files committed by atomic rename, and views over them.

Layout for ``--warehouse warehouse/l2m.duckdb``::

    warehouse/l2m.duckdb                               catalog: views only, for the DuckDB CLI
    warehouse/l2m_parquet/_warehouse.json              marker: format, schema version
    warehouse/l2m_parquet/<table>/run_id=<id>/<name>.parquet      one committed file each
    warehouse/l2m_parquet/_commits/<table>/run_id=<id>/<name>.json    its commit record

Writers commit files (``files.py``) and never lock anything; readers (this class, the DuckDB
CLI, notebooks) query views whose globs see only committed files. Bulk tables are appended per
batch key; result tables are replaced per partition (``schema.PARTITIONS``), never wider.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

import l2m_analysis
from l2m_analysis.errors import InputError, WarehouseError
from l2m_analysis.sql import read_query, sql_to_polars
from l2m_analysis.warehouse import bulk, catalog, schema
from l2m_analysis.warehouse.batches import as_arrow, check_run_id, conform, git_commit
from l2m_analysis.warehouse.files import (
    CommitRecord,
    commit_file,
    committed_records,
    data_path,
    partition_key,
    partition_name,
    record_dir,
    remove_file,
    run_dir,
)
from l2m_analysis.warehouse.location import data_root_for, resolve_catalog
from l2m_analysis.warehouse.opening import prepare


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


class Warehouse:
    """An open warehouse. Use ``Warehouse.open(path)``, ideally as a context manager.

    ``con`` is an in-memory DuckDB connection with every table and staging view; it holds no
    lock on anything, so any number of processes may read and write at once.
    """

    def __init__(self, path: Path, root: Path, notify: Callable[[str], None]) -> None:
        self.path = path
        self.root = root
        self.notify = notify
        self.con = duckdb.connect()
        catalog.attach_views(self.con, root)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        create: bool = True,
        notify: Callable[[str], None] = _to_stderr,
    ) -> Warehouse:
        """Open (and with ``create`` make) the warehouse whose catalog is ``path``."""
        path = resolve_catalog(path)
        root = data_root_for(path)
        prepare(path, root, create=create, notify=notify)
        return cls(path, root, notify)

    @property
    def parquet_root(self) -> Path:
        return self.root

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

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

        Resuming requires the same kind and config, so a rerun never mixes two setups; a run
        that has no committed data yet may be restarted with a new config.
        """
        config_json = json.dumps(config or {}, sort_keys=True, default=str)
        if run_id is None:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            run_id = f"{kind}-{stamp}-{secrets.token_hex(2)}"
        check_run_id(run_id)
        old = self._run_row(run_id)
        now = _now()
        if old is not None:
            same = old["kind"] == kind and _canonical(old["config"], config) == config_json
            if not same and self.has_data(run_id):
                raise WarehouseError(
                    f"run {run_id!r} already exists with kind {old['kind']!r} and a different "
                    "config, and has committed data",
                    "rerun with the original options to resume it, choose a new --run-id, or "
                    f"delete it: python -m pipelines.runs --delete {run_id}",
                )
            if not same:
                self.notify(f"note: run {run_id} had no committed data; restarted with new options")
            created = old["created_at"] if same else now
            config_json = _canonical(old["config"]) if same else config_json  # keeps facts
        else:
            created = now
        self._write_run({
            "run_id": run_id, "kind": kind, "model": model, "tokenizer": tokenizer,
            "dataset": dataset, "config": config_json, "seed": seed,
            "package_version": l2m_analysis.__version__, "git_commit": git_commit(),
            "created_at": created, "updated_at": now, "status": "running",
            "summary": old["summary"] if old is not None and same else None,
        })  # fmt: skip
        return run_id

    def finish_run(
        self, run_id: str, status: str = "complete", summary: dict[str, Any] | None = None
    ) -> None:
        """Set the run's status; ``summary``: facts the run measured (JSON-able), kept."""
        row = self.require_run(run_id)
        if summary is not None:
            row["summary"] = json.dumps(summary, sort_keys=True, default=str)
        self._write_run({**row, "status": status, "updated_at": _now()})

    def require_run(self, run_id: str) -> dict[str, Any]:
        """The ``runs`` row of ``run_id``; a clear error listing known runs if there is none."""
        row = self._run_row(run_id)
        if row is None:
            known = self.query("SELECT run_id FROM runs ORDER BY created_at")["run_id"].to_list()
            raise WarehouseError(
                f"unknown run id {run_id!r} in {self.path}",
                f"use one of: {', '.join(known)}" if known else "no runs yet: run a producer first",
            )
        return row

    def run_config(self, run_id: str) -> dict[str, Any]:
        """The config its producer recorded for ``run_id`` (``runs.config``), as a dict."""
        return schema.run_config_of(self.require_run(run_id))

    def record_in_config(self, run_id: str, key: str, value: Any) -> None:
        """Add ``key: value`` (one of ``RECORDED_LATER``) to the run's config where it is absent:
        a fact its producer learns after starting the run; an error when the config already
        holds another value."""
        row = self.require_run(run_id)
        config = schema.run_config_of(row)
        if key in config:
            if json.dumps(config[key], default=str) != json.dumps(value, default=str):
                raise WarehouseError(
                    f"run {run_id!r} records {key} = {config[key]!r}, not {value!r}",
                    "rerun with the run's original options, or choose a new --run-id",
                )
            return
        config[key] = value
        self._write_run({**row, "config": json.dumps(config, sort_keys=True, default=str)})

    def has_run(self, run_id: str) -> bool:
        return self._run_row(run_id) is not None

    def _run_row(self, run_id: str) -> dict[str, Any] | None:
        check_run_id(run_id)
        rows = self.query("SELECT * FROM runs WHERE run_id = ?", [run_id])
        return rows.row(0, named=True) if rows.height else None

    def _write_run(self, row: dict[str, Any]) -> None:
        arrow = pa.Table.from_pylist([row], schema=schema.RESULT_TABLES["runs"])
        commit_file(self.root, "runs", row["run_id"], row["run_id"], arrow, name="run")

    def has_data(self, run_id: str) -> bool:
        """True when any table but ``runs`` has a committed file of the run."""
        return any(
            next(run_dir(self.root, t, run_id).glob("*.parquet"), None) is not None
            for t in schema.TABLES
            if t != "runs"
        )

    def delete_run(self, run_id: str) -> dict[str, int]:
        """Delete every file of the run in every table (data, then records); rows per table."""
        self.require_run(run_id)
        deleted: dict[str, int] = {}
        for table in [t for t in schema.TABLES if t != "runs"] + ["runs"]:  # runs row last
            records = committed_records(self.root, table, run_id)
            deleted[table] = sum(r.n_rows for r in records)
            for path in run_dir(self.root, table, run_id).glob("*.parquet"):
                remove_file(self.root, table, run_id, path.name[: -len(".parquet")])
            for folder in (run_dir(self.root, table, run_id), record_dir(self.root, table, run_id)):
                _remove_tree(folder)
        return deleted

    # ------------------------------------------------------------------ bulk tables
    def batches(self, table: str, run_id: str) -> list[CommitRecord]:
        """Commit records of the run's committed batches of ``table``, by batch key."""
        return bulk.batch_records(self.root, table, run_id)

    def committed_batches(self, table: str, run_id: str) -> set[str]:
        return bulk.committed_keys(self.root, table, run_id)

    def batch_files(self, table: str, run_id: str) -> list[tuple[Path, int]]:
        """The run's committed Parquet files of `table` in batch-key order, with row counts."""
        return [
            (data_path(self.root, table, run_id, r.name), r.n_rows)
            for r in self.batches(table, run_id)
        ]

    def append_batch(
        self,
        table: str,
        run_id: str,
        batch_key: str,
        data: pa.Table | pl.DataFrame,
        meta: dict[str, Any] | None = None,
    ) -> bool:
        """Commit one batch of a bulk table atomically; False if it was committed before
        (``warehouse.bulk.append_batch``, which Dask tasks call with the data root)."""
        return bulk.append_batch(self.root, table, run_id, batch_key, data, meta)

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
    def replace_partitions(
        self,
        table: str,
        data: pa.Table | pl.DataFrame,
        recomputed: Iterable[dict[str, Any]] = (),
    ) -> int:
        """Replace the partitions of ``table`` that ``data`` holds rows of, and nothing else.

        A partition is one value of each column in ``schema.PARTITIONS[table]``; its file is
        replaced atomically by the rows of that value. ``recomputed``: partitions the caller
        recomputed and found empty — their old rows are removed. Returns rows written.
        """
        target = schema.RESULT_TABLES.get(table)
        if target is None or table == "runs":
            raise InputError(
                f"{table!r} is not a result table",
                f"use one of {sorted(set(schema.RESULT_TABLES) - {'runs'})}",
            )
        arrow = conform(as_arrow(data), target, table, None, fill_missing=True)
        if "created_at" in target.names:
            stamp = pa.array([_now()] * arrow.num_rows, target.field("created_at").type)
            column = arrow.column("created_at")
            arrow = arrow.set_column(
                target.get_field_index("created_at"), "created_at",
                pc.coalesce(column, stamp) if arrow.num_rows else column,
            )  # fmt: skip
        keys = schema.PARTITIONS[table]
        frame = pl.from_arrow(arrow)
        groups = frame.group_by(list(keys), maintain_order=True) if frame.height else []
        written = set()
        for values, part in groups:
            partition = dict(zip(keys, values, strict=True))
            self._commit_partition(table, partition, part.to_arrow().cast(target))
            written.add(partition_key(partition))
        for partition in recomputed:
            missing = [k for k in keys if k not in partition]
            if missing:
                raise InputError(f"partition {partition} lacks {missing}", f"name every {keys}")
            partition = {k: partition[k] for k in keys}
            if partition_key(partition) not in written:
                name = partition_name(table, partition)
                remove_file(self.root, table, partition["run_id"], name)
        return arrow.num_rows

    def _commit_partition(self, table: str, partition: dict[str, Any], arrow: pa.Table) -> None:
        run_id = partition["run_id"]
        if run_id is None:
            raise InputError(f"{table} rows without run_id", "give every row its run_id")
        check_run_id(run_id)
        key = partition_key(partition)
        commit_file(self.root, table, run_id, key, arrow, name=partition_name(table, partition))

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
        """Rows per research table."""
        return {
            t: self.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in schema.TABLES
        }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# config keys a producer records after starting the run (Warehouse.record_in_config); a resumed
# run's new options need not repeat them
RECORDED_LATER = ("ratios",)


def _canonical(config: str | None, compared_with: dict[str, Any] | None = None) -> str:
    """A stored config as sorted JSON; with ``compared_with`` (a resumed run's options), without
    the keys recorded later that those options leave out."""
    stored = json.loads(config or "{}")
    if compared_with is not None:
        stored = {k: v for k, v in stored.items()
                  if k not in RECORDED_LATER or k in compared_with}  # fmt: skip
    return json.dumps(stored, sort_keys=True, default=str)


def _remove_tree(folder: Path) -> None:
    """Remove an emptied run folder (stray temporary files of killed writers included)."""
    if not folder.is_dir():
        return
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()
