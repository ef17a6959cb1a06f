"""Checks and conversions for batches entering the warehouse (no I/O)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import polars as pl
import pyarrow as pa

from l2m_analysis.errors import InputError

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def as_arrow(data: pa.Table | pl.DataFrame) -> pa.Table:
    if isinstance(data, pl.DataFrame):
        return data.to_arrow()
    if isinstance(data, pa.Table):
        return data
    raise InputError(f"expected a polars DataFrame or pyarrow Table, got {type(data).__name__}")


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def check_run_id(run_id: str) -> None:
    """Run ids name folders: letters, digits, ``_ . -``; at most 128 characters."""
    if not isinstance(run_id, str) or not _SAFE_ID.match(run_id):
        raise InputError(
            f"invalid run id {run_id!r}",
            "use letters, digits, '_', '.', '-' (start with a letter or digit, <= 128 chars)",
        )


def conform(
    arrow: pa.Table, target: pa.Schema, table: str, run_id: str | None, fill_missing: bool = False
) -> pa.Table:
    """Check a batch against its table schema and cast it; fills ``run_id`` when absent (and
    ``run_id`` is given) and, with ``fill_missing``, every other absent column with NULL."""
    if "run_id" not in arrow.column_names and run_id is not None:
        arrow = arrow.append_column("run_id", pa.array([run_id] * arrow.num_rows, pa.string()))
    missing = [n for n in target.names if n not in arrow.column_names]
    extra = [n for n in arrow.column_names if n not in target.names]
    if fill_missing and not extra:
        for name in missing:
            column = target.field(name)
            arrow = arrow.append_column(column, pa.nulls(arrow.num_rows, column.type))
        missing = []
    if missing or extra:
        raise InputError(
            f"batch for {table} has missing columns {missing} and unexpected columns {extra}",
            f"{table} needs exactly {target.names} (see docs/warehouse.md)",
        )
    arrow = arrow.select(target.names)
    try:
        arrow = arrow.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise InputError(
            f"batch for {table} has columns of the wrong type: {err}",
            f"{table} needs the types {target}",
        ) from err
    run_ids = set(arrow.column("run_id").unique().to_pylist())
    if run_id is not None and run_ids - {run_id}:
        raise InputError(
            f"batch for run {run_id!r} holds rows of runs {sorted(run_ids)}",
            "write each run's rows under its own run id",
        )
    return arrow
