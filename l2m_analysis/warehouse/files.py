"""How one Parquet file enters, leaves and is verified in the warehouse: the commit protocol.

Every file of every table is committed the same way, with no lock shared between writers:

1. the Parquet bytes are serialized in memory (with page checksums) and their sha256 taken;
2. they are written to a temporary file unique to the writer (``<name>.parquet.<writer>.tmp``,
   writer = ``<pid>-<hex>``) and fsynced;
3. a commit record (JSON: key, rows, bytes, sha256, producer, meta) is written as the writer's
   own pending record ``_commits/<table>/run_id=<run>/<name>.json.<writer>.pending``;
4. the temporary file becomes ``<table>/run_id=<run>/<name>.parquet`` — the commit point:
   readers glob ``*.parquet`` and see the whole old file or the whole new one. A bulk batch is
   committed ONCE (``once=True``: a hard link that fails if the name exists, so of two writers
   of the same batch — a Dask task run twice — exactly one wins and the other discards its
   files); a result partition REPLACES the earlier file (rename);
5. the writer's pending record is renamed onto ``<name>.json``.

A writer killed before 4 leaves nothing visible (a stray ``.tmp`` and perhaps its pending record,
which ``check_warehouse --repair`` removes); killed between 4 and 5, the data are committed and
the pending record whose sha256 matches them describes them (``describing_record``). A batch is
*committed* when its data file exists.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from l2m_analysis.warehouse.schema import PARTITIONS

COMMITS = "_commits"
# zero rows with a table's columns; its name is also the message a DuckDB CLI user sees when the
# warehouse was moved ("No files found that match the pattern <old path>/<this name>")
SCHEMA_FILE = (
    "_schema.if-not-found-the-warehouse-moved.fix--python-m-pipelines.check_warehouse"
    "--warehouse-NEW-PATH.parquet"
)
_PRODUCER: ContextVar[str | None] = ContextVar("l2m_producer", default=None)


@contextlib.contextmanager
def producing(command: str) -> Iterator[None]:
    """Record ``command`` as the producer of every file committed inside the block."""
    token = _PRODUCER.set(command)
    try:
        yield
    finally:
        _PRODUCER.reset(token)


def current_producer() -> str | None:
    return _PRODUCER.get()


@dataclass(frozen=True)
class CommitRecord:
    """What a committed file held when it was written. ``key``: the batch key of a bulk table or
    the partition of a result table (JSON); ``meta``: the producer's data about the batch."""

    table: str
    run_id: str
    name: str
    key: str
    n_rows: int
    n_bytes: int
    sha256: str
    committed_at: str
    producer: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def file_name(key: str, readable: str | None = None) -> str:
    """A file name for a key: a readable stem (``readable``, default the key) plus a digest of
    the key that keeps names unique."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", key if readable is None else readable)[:80]
    return f"{stem}-{digest}"


def partition_key(partition: dict[str, Any]) -> str:
    """The key of a result-table partition (its column values): canonical JSON."""
    return json.dumps([[k, partition[k]] for k in sorted(partition)], default=str)


def partition_name(table: str, partition: dict[str, Any]) -> str:
    """The file name of a partition: its values in schema order, and a digest of them."""
    values = [partition[k] for k in PARTITIONS[table] if k != "run_id"]
    return file_name(partition_key(partition), "__".join(map(str, values)) or "all")


def run_dir(root: Path, table: str, run_id: str) -> Path:
    return root / table / f"run_id={run_id}"


def record_dir(root: Path, table: str, run_id: str) -> Path:
    return root / COMMITS / table / f"run_id={run_id}"


def data_path(root: Path, table: str, run_id: str, name: str) -> Path:
    return run_dir(root, table, run_id) / f"{name}.parquet"


def record_path(root: Path, table: str, run_id: str, name: str) -> Path:
    return record_dir(root, table, run_id) / f"{name}.json"


def parquet_bytes(arrow: pa.Table) -> bytes:
    """The Parquet serialization of ``arrow`` (zstd, page checksums)."""
    sink = pa.BufferOutputStream()
    pq.write_table(arrow, sink, compression="zstd", write_page_checksum=True)
    return sink.getvalue().to_pybytes()


def commit_file(
    root: Path,
    table: str,
    run_id: str,
    key: str,
    arrow: pa.Table,
    meta: dict | None = None,
    name: str | None = None,
    *,
    once: bool = False,
) -> CommitRecord | None:
    """Steps 1-5 of the module docstring for the file ``name`` (default ``file_name(key)``).

    once=False replaces an earlier file of that name; once=True commits only if no file of that
    name exists, and returns None (leaving nothing behind) when another writer got there first.
    """
    name = name or file_name(key)
    payload = parquet_bytes(arrow)
    record = CommitRecord(
        table=table,
        run_id=run_id,
        name=name,
        key=key,
        n_rows=arrow.num_rows,
        n_bytes=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        committed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        producer=current_producer(),
        meta=meta or {},
    )
    final = data_path(root, table, run_id, name)
    final_record = record_path(root, table, run_id, name)
    final.parent.mkdir(parents=True, exist_ok=True)
    final_record.parent.mkdir(parents=True, exist_ok=True)
    writer = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = write_durably(final.with_name(f"{final.name}.{writer}.tmp"), payload)
    pending = write_durably(
        final_record.with_name(f"{final_record.name}.{writer}.pending"),
        json.dumps(asdict(record)).encode(),
    )
    if once:
        try:
            os.link(tmp, final)  # the commit point; fails if another writer committed first
        except FileExistsError:
            pending.unlink()
            return None
        finally:
            tmp.unlink()
    else:
        os.replace(tmp, final)  # the commit point
    _fsync_dir(final.parent)
    os.replace(pending, final_record)
    return record


def write_durably(path: Path, payload: bytes) -> Path:
    """Create ``path`` (a name unique to this writer) holding ``payload``, fsynced."""
    with open(path, "xb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def create_once(final: Path, payload: bytes) -> bool:
    """Create ``final`` with ``payload`` unless it exists (atomic, race-free); True if created."""
    tmp = write_durably(final.with_name(f"{final.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"),
                        payload)  # fmt: skip
    try:
        os.link(tmp, final)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def remove_file(root: Path, table: str, run_id: str, name: str) -> None:
    """Uncommit one file: the data first (nothing stays visible), then its records."""
    data_path(root, table, run_id, name).unlink(missing_ok=True)
    record = record_path(root, table, run_id, name)
    for pending in pending_records(record):
        pending.unlink(missing_ok=True)
    record.unlink(missing_ok=True)


def pending_records(record: Path) -> list[Path]:
    """The pending records of a name (``<name>.json.<writer>.pending``, and the single
    ``<name>.json.pending`` of warehouses written before writer-unique names)."""
    return sorted(record.parent.glob(glob.escape(record.name) + "*.pending"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describing_record(data: Path, record: Path) -> CommitRecord | None:
    """The record that describes the committed file ``data``: its final record when no commit
    of the name is under way, else the one (final or pending) whose sha256 matches the data."""
    candidates = [read_record(p) for p in pending_records(record)]
    if record.exists():
        candidates.append(read_record(record))
    candidates = [c for c in candidates if c is not None]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    try:
        digest = file_sha256(data)
    except OSError:
        return None
    return next((c for c in candidates if c.sha256 == digest), None)


def read_record(path: Path) -> CommitRecord | None:
    """A commit record, or None when the file is unreadable (reported by check_warehouse)."""
    try:
        return CommitRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def committed_records(root: Path, table: str, run_id: str) -> list[CommitRecord]:
    """Records of the run's committed files of ``table`` (data file present), by key."""
    folder = run_dir(root, table, run_id)
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob("*.parquet"):
        name = path.name[: -len(".parquet")]
        found = describing_record(path, record_path(root, table, run_id, name))
        if found is not None:
            out.append(found)
    return sorted(out, key=lambda r: r.key)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_schema_file(root: Path, table: str, schema: pa.Schema) -> None:
    """``<table>/<SCHEMA_FILE>``: zero rows with the table's columns, so that the table's view
    exists (and has its types) before any file is committed."""
    folder = root / table
    folder.mkdir(parents=True, exist_ok=True)
    create_once(folder / SCHEMA_FILE, parquet_bytes(schema.empty_table()))
