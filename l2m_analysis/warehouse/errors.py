"""DuckDB errors that mean a damaged or missing warehouse file, told as problem and fix."""

from __future__ import annotations

import re

import duckdb

from l2m_analysis.errors import WarehouseError

_FILE = re.compile(r"""["']?(/[^"'\s]+\.parquet)["']?""")
_SIGNS = ("parquet", "no files found", "magic bytes", "no such file")


def from_duckdb_error(err: duckdb.Error) -> WarehouseError | None:
    """A WarehouseError for an error reading a warehouse Parquet file, else None (a bug)."""
    text = str(err)
    if not any(sign in text.lower() for sign in _SIGNS):
        return None
    found = _FILE.search(text)
    where = f" {found.group(1)}" if found else ""
    return WarehouseError(
        f"a file of the warehouse cannot be read{where}: {text.splitlines()[0]}",
        "python -m pipelines.check_warehouse --warehouse <catalog> lists every damaged or "
        "missing file and the command that re-produces it; --repair sets them aside so that "
        "rerunning that command writes them again",
    )
