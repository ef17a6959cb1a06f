"""The SQL face of the warehouse: one view per table over its Parquet files, the staging views of
``queries/staging/``, and the ``.duckdb`` catalog file that holds them for the DuckDB CLI.

The catalog holds views only, no data, so it is derived: the toolkit (re)builds it — into a new
file, renamed over the old one — whenever it is missing, unreadable, from an older toolkit, or
was copied or moved. Writers never open it. Its views read absolute paths; each carries a guard
that raises a clear error when the catalog is opened anywhere but where it was built, so a
copied warehouse can never silently read the original's files.

The toolkit's own reads use an in-memory DuckDB connection with the same views (no guard), so
no process ever holds a lock that another needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

from l2m_analysis.sql import staging_queries
from l2m_analysis.warehouse import schema
from l2m_analysis.warehouse.files import SCHEMA_FILE

MARKER_VIEW = "_l2m_catalog"  # one row: fingerprint, data_root, schema_version


@dataclass(frozen=True)
class CatalogState:
    """What opening the catalog file found: ``ok``, ``missing``, ``stale`` (other views or
    location), ``locked`` (another process holds it read-write), ``foreign`` (holds tables),
    ``unreadable`` (not a DuckDB file, truncated, damaged); ``detail`` says more."""

    status: str
    detail: str = ""


def table_view_sql(table: str, data_root: Path, guard: str | None) -> str:
    """``CREATE VIEW`` of one table over its files; ``guard`` is the catalog's own path."""
    # the schema file first: when the warehouse was moved, DuckDB's "No files found" error
    # names it, and its name says the fix (files.SCHEMA_FILE); it holds no rows
    first = _sql_string((data_root / table / SCHEMA_FILE).as_posix())
    glob = _sql_string((data_root / table).as_posix() + "/**/*.parquet")
    body = f"SELECT * FROM read_parquet([{first}, {glob}], hive_partitioning = false)"
    if guard is not None:
        body += f"\nWHERE {_location_guard(guard)}"
    return f"CREATE OR REPLACE VIEW {table} AS\n{body}"


def _location_guard(catalog: str) -> str:
    """A condition that is true only when the catalog at ``catalog`` (or its real path) is
    attached, and otherwise raises, naming the fix."""
    paths = sorted({os.path.abspath(catalog), os.path.realpath(catalog)})
    listed = ", ".join(_sql_string(p) for p in paths)
    message = _sql_string(
        f"this catalog was built for {paths[0]} and its views read that warehouse's files; "
        "it has been copied or moved. Fix: python -m pipelines.check_warehouse --warehouse "
        "<this file> (re-points the views at the files beside it)"
    )
    return (
        "(SELECT CASE WHEN count(*) > 0 THEN true ELSE error("
        f"{message}) END FROM duckdb_databases() WHERE path IN ({listed}))"
    )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_statements(data_root: Path, guard: str | None) -> list[str]:
    """Every statement that defines the warehouse's views, tables before staging."""
    statements = [table_view_sql(t, data_root, guard) for t in schema.TABLES]
    statements += [f"CREATE OR REPLACE VIEW {name} AS\n{sql}" for name, sql in staging_queries()]
    return statements


def fingerprint(data_root: Path, catalog: Path) -> str:
    """Identifies the views a catalog at ``catalog`` must hold (definitions and locations)."""
    text = "\n;\n".join(view_statements(data_root, str(catalog)))
    return hashlib.sha256(f"{schema.SCHEMA_VERSION}\n{text}".encode()).hexdigest()[:16]


def attach_views(con: duckdb.DuckDBPyConnection, data_root: Path) -> None:
    """Create the views on a (usually in-memory) connection of the toolkit."""
    for statement in view_statements(data_root, guard=None):
        con.execute(statement)


def inspect(catalog: Path, data_root: Path) -> CatalogState:
    """Open the catalog read-only and say whether it is the one the toolkit would build."""
    if not catalog.exists():
        return CatalogState("missing")
    try:
        con = duckdb.connect(str(catalog), read_only=True)
    except duckdb.IOException as err:
        if "lock" in str(err).lower():
            return CatalogState("locked", str(err).splitlines()[0])
        return CatalogState("unreadable", str(err).splitlines()[0])
    except duckdb.Error as err:
        return CatalogState("unreadable", str(err).splitlines()[0])
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        if tables:
            return CatalogState("foreign", ", ".join(sorted(tables)))
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        if MARKER_VIEW not in views:
            return CatalogState("stale", "no marker view")
        found = con.execute(f"SELECT fingerprint FROM {MARKER_VIEW}").fetchall()[0][0]
        want = fingerprint(data_root, catalog)
        return CatalogState("ok" if found == want else "stale", f"{found} != {want}")
    except duckdb.Error as err:
        return CatalogState("unreadable", str(err).splitlines()[0])
    finally:
        con.close()


def build(catalog: Path, data_root: Path) -> None:
    """Write a fresh catalog next to ``catalog`` and rename it into place (atomic)."""
    tmp = catalog.with_name(f".{catalog.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        con = duckdb.connect(str(tmp), config=schema.CONNECT_CONFIG)
        try:
            for statement in view_statements(data_root, str(catalog)):
                con.execute(statement)
            con.execute(
                f"CREATE VIEW {MARKER_VIEW} AS SELECT "
                f"{_sql_string(fingerprint(data_root, catalog))} AS fingerprint, "
                f"{_sql_string(data_root.as_posix())} AS data_root, "
                f"{schema.SCHEMA_VERSION} AS schema_version"
            )
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, catalog)
        # a write-ahead log left by a crashed session belongs to the old file
        with contextlib.suppress(FileNotFoundError):
            catalog.with_name(catalog.name + ".wal").unlink()
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
