"""Opening a warehouse path: tell what is there, create, migrate or refuse with the fix.

What ``--warehouse X.duckdb`` may find, and what happens:

=====================================  ================================================
data folder ``X_parquet/`` with marker  a warehouse: add missing table folders, rebuild the
                                        catalog if missing / unreadable / stale
a schema-1 warehouse (tables in X)      migrated to schema 2 (``migrate_v1.py``)
X is a catalog but its folder is gone   refused: restore the folder (or use a new path)
X is another DuckDB file / not DuckDB   refused: not a warehouse (never overwritten)
nothing                                 created (unless ``create=False``: say what to run)
=====================================  ================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

import l2m_analysis
from l2m_analysis.errors import WarehouseError
from l2m_analysis.warehouse import catalog, schema
from l2m_analysis.warehouse.files import COMMITS, SCHEMA_FILE, create_once, write_schema_file
from l2m_analysis.warehouse.location import FORMAT, MARKER

Notify = Callable[[str], None]
_DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file
_PRODUCERS = (
    "run `python -m pipelines.run_all` (or a producer such as "
    "`python -m pipelines.gaussian_mi`) first, or pass --warehouse PATH"
)


def prepare(catalog_path: Path, root: Path, *, create: bool, notify: Notify) -> None:
    """Make ``catalog_path`` + ``root`` a usable schema-2 warehouse, or raise WarehouseError."""
    marker = root / MARKER
    if not marker.exists():
        if catalog_path.exists():
            kind, detail = identify(catalog_path)
            if kind != "v1":
                raise _refusal(kind, detail, catalog_path, root)
            from l2m_analysis.warehouse.migrate_v1 import migrate  # only ever needed once

            migrate(catalog_path, root, notify)
            ensure_tables(root, notify)  # then the marker: a migration is complete with it
            body = {"format": FORMAT, "schema_version": schema.SCHEMA_VERSION,
                    "migrated_from": 1}  # fmt: skip
            (root / MARKER).write_text(json.dumps(body) + "\n")
            catalog_path.unlink()  # rebuilt below as a views-only catalog
        elif root.exists() and any(root.iterdir()):
            raise WarehouseError(
                f"{root} holds files but no {MARKER}: it is not (or no longer) a warehouse "
                "data folder",
                f"restore {root / MARKER} from a copy, or pass a new --warehouse path",
            )
        elif not create:
            raise WarehouseError(f"no warehouse at {catalog_path}", _PRODUCERS)
        else:
            root.mkdir(parents=True, exist_ok=True)
            body = {"format": FORMAT, "schema_version": schema.SCHEMA_VERSION,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "created_by": f"l2m-analysis {l2m_analysis.__version__}"}  # fmt: skip
            create_once(marker, json.dumps(body, indent=1).encode())
    check_version(marker)
    ensure_tables(root, notify)
    ensure_catalog(catalog_path, root, notify)


def check_version(marker: Path) -> int:
    """The data folder's schema version; refuses a newer one and a damaged marker."""
    try:
        body = json.loads(marker.read_text())
        version = int(body["schema_version"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise WarehouseError(
            f"{marker} is damaged ({err})",
            f'write {{"format": "{FORMAT}", "schema_version": {schema.SCHEMA_VERSION}}} into it '
            "if this folder is a warehouse written by this toolkit",
        ) from err
    if version > schema.SCHEMA_VERSION:
        raise WarehouseError(
            f"{marker.parent} has schema version {version}, newer than this toolkit's "
            f"{schema.SCHEMA_VERSION}",
            "upgrade l2m-analysis (pip install -e . in an up-to-date checkout)",
        )
    if version < schema.SCHEMA_VERSION:  # schema 2 is the first file-based version
        raise WarehouseError(
            f"{marker.parent} has schema version {version} and no migration to "
            f"{schema.SCHEMA_VERSION} exists",
            "re-create the warehouse by rerunning the producing pipelines",
        )
    return version


def ensure_tables(root: Path, notify: Notify) -> None:
    """Every table has its folder and schema file; says when committed files are gone."""
    for table, table_schema in schema.TABLES.items():
        if (root / table / SCHEMA_FILE).exists():
            continue
        lost = list((root / COMMITS / table).glob("*/*.json"))
        if lost and not (root / table).exists():
            notify(
                f"warning: the folder of table {table} is missing from {root}: {len(lost)} "
                "committed files are gone. Run python -m pipelines.check_warehouse to list "
                "them and the commands that re-produce them."
            )
        write_schema_file(root, table, table_schema)


def ensure_catalog(catalog_path: Path, root: Path, notify: Notify) -> None:
    """Build the catalog when missing, unreadable or stale; leave it when locked or foreign."""
    state = catalog.inspect(catalog_path, root)
    if state.status in ("ok", "locked"):
        return
    if state.status == "foreign":
        notify(
            f"warning: {catalog_path} holds tables ({state.detail}) besides the warehouse views, "
            "so it was not rebuilt and its views may be stale. Move those tables to a database "
            "of your own (ATTACH it beside the catalog), delete them, then rerun."
        )
        return
    if state.status == "unreadable":
        notify(
            f"note: the catalog {catalog_path} could not be read ({state.detail}); it holds only "
            f"views, so it was rebuilt from the data in {root}."
        )
    elif state.status == "stale":
        notify(f"note: rebuilt the catalog {catalog_path} (its views were stale or elsewhere)")
    catalog.build(catalog_path, root)


def identify(path: Path) -> tuple[str, str]:
    """What a file that should be a catalog is: ``v1`` (a schema-1 warehouse), ``catalog``,
    ``duckdb`` (another database), ``locked``, ``unreadable`` or ``not_duckdb``."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as err:
        return "unreadable", str(err)
    if len(head) < 12 or head[8:12] != _DUCKDB_MAGIC:
        return "not_duckdb", f"{path.stat().st_size} bytes, no DuckDB header"
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as err:
        first = str(err).splitlines()[0]
        return ("locked" if "lock" in first.lower() else "unreadable"), first
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    except duckdb.Error as err:
        return "unreadable", str(err).splitlines()[0]
    finally:
        con.close()
    if "_meta" in tables and "_batches" in tables:
        return "v1", ""
    if catalog.MARKER_VIEW in views:
        return "catalog", ""
    return "duckdb", ", ".join(sorted(tables | views)) or "empty"


def _refusal(kind: str, detail: str, path: Path, root: Path) -> WarehouseError:
    if kind == "catalog":
        return WarehouseError(
            f"{path} is a warehouse catalog but its data folder {root} is missing (the catalog "
            "holds only views; the data are Parquet files in that folder)",
            f"restore {root.name}/ beside {path.name} (copy or move the two together), "
            "or pass a new --warehouse path and rerun the producers",
        )
    if kind == "locked":
        return WarehouseError(
            f"cannot inspect {path}: another process holds it read-write ({detail})",
            "close the other DuckDB session (e.g. a `duckdb` CLI opened without -readonly), "
            "then rerun",
        )
    what = {
        "duckdb": f"a DuckDB database that is not an l2m-analysis warehouse (it holds: {detail})",
        "not_duckdb": f"not a DuckDB database ({detail}: random bytes, a text file, truncated?)",
        "unreadable": f"a damaged DuckDB file ({detail})",
    }[kind]
    return WarehouseError(
        f"{path} is {what}, and there is no warehouse data folder {root.name}/ beside it",
        "pass --warehouse with a new path (a warehouse is created there) or the .duckdb file "
        "of an existing warehouse; this file was left untouched",
    )
