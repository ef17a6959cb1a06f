"""Bulk tables (``schema.BULK_TABLES``): batches appended once each, by key, from any process.

These functions need only the warehouse's data root (``<name>_parquet/``), no DuckDB
connection, so a Dask task on any worker that sees the same file system appends its batch with
them; ``Warehouse`` uses the same functions. A batch is committed at most once: two writers of
the same key (a task run twice after a worker died, or by work stealing) end with exactly one
file, whose commit record matches it (``files.commit_file(once=True)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from l2m_analysis.errors import InputError
from l2m_analysis.warehouse import schema
from l2m_analysis.warehouse.batches import as_arrow, check_run_id, conform
from l2m_analysis.warehouse.files import (
    CommitRecord,
    commit_file,
    committed_records,
    data_path,
    file_name,
)


def append_batch(
    root: Path,
    table: str,
    run_id: str,
    batch_key: str,
    data: pa.Table | pl.DataFrame,
    meta: dict[str, Any] | None = None,
) -> bool:
    """Commit one batch of a bulk table atomically; False if it was committed before (by this
    or any other writer). ``meta``: the producer's facts about the batch, kept in its record."""
    target = schema.BULK_TABLES.get(table)
    if target is None:
        raise InputError(
            f"{table!r} is not a bulk table", f"use one of {sorted(schema.BULK_TABLES)}"
        )
    check_run_id(run_id)
    if data_path(Path(root), table, run_id, file_name(batch_key)).exists():
        return False
    arrow = conform(as_arrow(data), target, table, run_id)
    return commit_file(Path(root), table, run_id, batch_key, arrow, meta, once=True) is not None


def batch_records(root: Path, table: str, run_id: str) -> list[CommitRecord]:
    """Commit records of the run's committed batches of ``table``, by batch key."""
    return committed_records(Path(root), table, run_id)


def committed_keys(root: Path, table: str, run_id: str) -> set[str]:
    """Batch keys of the run's committed batches of ``table``."""
    return {r.key for r in batch_records(root, table, run_id)}
