"""Verify every committed file of a warehouse against its commit record, and repair what can be.

For every commit record (``files.py``): the data file exists, has the recorded size and sha256
(which proves its rows too). Also found: data files without a record, commits interrupted
between the data rename and the record rename, pending records of writers killed before their
commit, and stray temporary files. ``repair`` promotes completed commits, sets damaged and
unrecorded files aside in ``_quarantine/`` (never deletes data), and removes stale temporaries;
a damaged or missing batch is then re-produced by rerunning the command its record names.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from l2m_analysis.warehouse import schema
from l2m_analysis.warehouse.files import (
    COMMITS,
    CommitRecord,
    file_sha256,
    pending_records,
    read_record,
)

QUARANTINE = "_quarantine"
KINDS = {
    "missing": "committed file is gone",
    "damaged": "file differs from what was committed (size or sha256)",
    "unrecorded": "file has no commit record (not written by the toolkit, or record lost)",
    "completed": "commit interrupted after its data were in place (record still pending)",
    "aborted": "commit interrupted before its data were in place (pending record only)",
    "stale_tmp": "temporary file of a writer that stopped",
}
REPAIRABLE = {"damaged", "unrecorded", "completed", "aborted", "stale_tmp"}


@dataclass(frozen=True)
class Problem:
    """One finding: ``kind`` (a key of KINDS), the file, and the command that re-produces it."""

    kind: str
    table: str
    path: Path
    detail: str = ""
    producer: str | None = None
    record: Path | None = None  # "completed": the pending record that describes the data


@dataclass
class CheckReport:
    """Files and rows verified per table, and every problem found."""

    files: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(root: Path, tmp_age_s: float = 3600.0) -> CheckReport:
    """Verify every table's files under ``root`` (reads each file once to hash it)."""
    report = CheckReport()
    for table in schema.TABLES:
        report.files[table] = report.rows[table] = 0
        for folder in sorted({p.parent.name for p in _run_items(root, table)}):
            data_dir, record_dir = root / table / folder, root / COMMITS / table / folder
            names = {p.name.split(".parquet")[0] for p in data_dir.glob("*.parquet")}
            names |= {p.name.split(".json")[0] for p in record_dir.glob("*.json*")}
            for name in sorted(names):
                data, record = data_dir / f"{name}.parquet", record_dir / f"{name}.json"
                _check_name(table, data, record, report)
        cutoff = time.time() - tmp_age_s
        for tmp in sorted((root / table).glob("run_id=*/*.tmp")):
            if tmp.stat().st_mtime < cutoff:
                report.problems.append(Problem("stale_tmp", table, tmp))
    return report


def _run_items(root: Path, table: str) -> list[Path]:
    return [*(root / table).glob("run_id=*/*"), *(root / COMMITS / table).glob("run_id=*/*")]


def _check_name(table: str, data: Path, record_file: Path, report: CheckReport) -> None:
    """Judge one file name: its data, its record and its writers' pending records together."""
    pendings = {p: read_record(p) for p in pending_records(record_file)}
    record = read_record(record_file)
    known = record or next((r for r in pendings.values() if r is not None), None)
    key, producer = (known.key, known.producer) if known else ("", None)
    if not data.exists():
        kind = "missing" if record_file.exists() else "aborted"
        report.problems.append(Problem(kind, table, data, key, producer))
        return
    digest = file_sha256(data)
    matching = [p for p, r in pendings.items() if r is not None and _matches(data, r, digest)]
    if record is not None and _matches(data, record, digest):
        found = record
        if pendings:  # a later commit of the same name never got its data in
            report.problems.append(Problem("aborted", table, data, key, producer))
    elif matching:
        found = pendings[matching[0]]
        report.problems.append(Problem("completed", table, data, key, producer, matching[0]))
    else:
        kind = "damaged" if record_file.exists() or pendings else "unrecorded"
        detail = f"{data.stat().st_size} bytes" + (
            f", committed {known.n_bytes}; key {key}" if known else ""
        )
        report.problems.append(Problem(kind, table, data, detail, producer))
        return
    report.files[table] += 1
    report.rows[table] += found.n_rows


def _matches(path: Path, record: CommitRecord, digest: str) -> bool:
    return path.stat().st_size == record.n_bytes and digest == record.sha256


def repair(root: Path, report: CheckReport) -> list[str]:
    """Fix every repairable problem of ``report``; returns what was done, one line each."""
    done = []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for p in report.problems:
        if p.kind not in REPAIRABLE:
            continue
        rel = p.path.relative_to(root / p.table)
        record = root / COMMITS / p.table / rel.parent / f"{p.path.name.split('.parquet')[0]}.json"
        pendings = pending_records(record)
        if p.kind == "completed":
            os.replace(p.record, record)
            for other in pending_records(record):  # writers of the same name that lost
                other.unlink(missing_ok=True)
            done.append(f"completed the interrupted commit of {p.table}/{rel}")
        elif p.kind == "aborted":
            for pending in pendings:
                pending.unlink(missing_ok=True)
            done.append(f"removed the pending record of {p.table}/{rel} (never committed)")
        elif p.kind == "stale_tmp":
            p.path.unlink(missing_ok=True)
            done.append(f"removed {p.table}/{rel}")
        else:  # damaged or unrecorded data: set aside, never delete
            target = root / QUARANTINE / stamp / p.table / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(p.path, target)
            for r in (record, *pendings):
                if r.exists():
                    shutil.move(r, target.with_name(r.name))
            done.append(f"moved {p.table}/{rel} ({p.kind}) to {target.parent}")
    return done
