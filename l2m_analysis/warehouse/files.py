"""How one Parquet file enters, leaves and is verified in the warehouse: the commit protocol.

Every file of every table is committed the same way, with no lock shared between writers:

1. the Parquet bytes are serialized in memory (with page checksums) and their sha256 taken;
2. they are written to a temporary file unique to the writer (``<name>.parquet.<pid>-<hex>.tmp``)
   and fsynced;
3. a commit record (JSON: key, rows, bytes, sha256, producer, meta) is written as
   ``_commits/<table>/run_id=<run>/<name>.json.pending``;
4. the temporary file is renamed onto ``<table>/run_id=<run>/<name>.parquet`` — the commit
   point: readers glob ``*.parquet`` and see the whole old file or the whole new one;
5. the pending record is renamed onto ``<name>.json``.

A writer killed before 4 leaves nothing visible (a stray ``.tmp`` and perhaps a pending record,
which ``check_warehouse --repair`` removes); killed between 4 and 5, the data are committed and
the pending record describes them. A batch is *committed* when its data file exists.
"""

from __future__ import annotations

import contextlib
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

COMMITS = "_commits"
SCHEMA_FILE = "_schema.parquet"
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
) -> CommitRecord:
    """Steps 1-5 of the module docstring; replaces an earlier file of the same ``name``
    (default ``file_name(key)``)."""
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
    tmp = write_durably(final, payload)
    pending = final_record.with_name(final_record.name + ".pending")
    os.replace(write_durably(pending, json.dumps(asdict(record)).encode()), pending)
    os.replace(tmp, final)  # the commit point
    _fsync_dir(final.parent)
    os.replace(pending, final_record)
    return record


def write_durably(final: Path, payload: bytes) -> Path:
    """Write ``payload`` to a temporary file unique to this writer beside ``final``; fsynced."""
    tmp = final.with_name(f"{final.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def create_once(final: Path, payload: bytes) -> bool:
    """Create ``final`` with ``payload`` unless it exists (atomic, race-free); True if created."""
    tmp = write_durably(final, payload)
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
    record.with_name(record.name + ".pending").unlink(missing_ok=True)
    record.unlink(missing_ok=True)


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
    names = {p.name[: -len(".parquet")] for p in folder.glob("*.parquet")}
    out = []
    for name in names:
        record = record_path(root, table, run_id, name)
        pending = record.with_name(record.name + ".pending")
        found = read_record(pending) if pending.exists() else None
        found = found or (read_record(record) if record.exists() else None)
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
    """``<table>/_schema.parquet``: zero rows with the table's columns, so that the table's view
    exists (and has its types) before any file is committed."""
    folder = root / table
    folder.mkdir(parents=True, exist_ok=True)
    create_once(folder / SCHEMA_FILE, parquet_bytes(schema.empty_table()))
