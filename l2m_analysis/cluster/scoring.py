"""Scoring on a Dask cluster: the plan's batches of samples as tasks, one backend per worker.

* Each batch [start, stop) of the plan is one task (``client.map`` with a key per batch range)
  that runs ``driver.score_batch`` — the function the in-process loop runs — and commits its
  rows with ``warehouse.bulk.append_batch`` from the worker (paths, no DuckDB).
* A worker process opens its backend once, lazily, from a ``BackendSpec`` and keeps it
  (``cached_backend``); ``close_cached_backends`` runs on every worker at the end.
* When workers declare GPUs (``dask worker --resources GPU=1``, dask-cuda), every task asks for
  ``resources={"GPU": 1}``, so one task at a time uses a GPU.
* Token windows travel as a file (``SavedWindows``, in ``<data root>/_work/<run>/``), not as
  scattered data, which would be lost with the last worker holding it.
* Batches already committed are skipped before submitting and again inside the task, so a local
  run and a cluster run resume each other's work. A task run twice (a worker died, or work
  stealing) commits each batch once: the second writer finds the file and counts it skipped.
* A batch whose workers die ``distributed.scheduler.allowed-failures`` times raises KilledWorker;
  the other batches finish, then a clear error says to rerun (nothing committed is lost).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from l2m_analysis.cluster.connect import has_gpu_workers
from l2m_analysis.errors import L2MError
from l2m_analysis.progress import Stages
from l2m_analysis.scoring.backend import ScoringBackend
from l2m_analysis.scoring.driver import (
    NOTHING,
    TABLE,
    SampleSource,
    ScoringSummary,
    TokenWindows,
    batch_ranges,
    check_partners,
    score_batch,
)
from l2m_analysis.scoring.plan import ScoringPlan
from l2m_analysis.scoring.specs import BackendSpec
from l2m_analysis.warehouse.bulk import append_batch, committed_keys

_BACKENDS: dict[Any, ScoringBackend] = {}
_LOCK = threading.Lock()
WORK_DIR = "_work"  # beside the tables in the warehouse's data root; not a table


@dataclass(frozen=True)
class SavedWindows:
    """``TokenWindows`` saved as a .npy file that every worker can read (the warehouse's file
    system): tasks carry this path, never the (n, L) array, and a worker that dies loses
    nothing. Loaded once per process, memory-mapped."""

    path: str
    length: int

    @classmethod
    def save(cls, windows: TokenWindows, folder: Path) -> SavedWindows:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"windows-{os.getpid()}-{secrets.token_hex(4)}.npy"
        np.save(path, windows.tokens)
        return cls(str(path), windows.length)

    def samples(self, sample_ids: np.ndarray) -> np.ndarray:
        return _load(self.path)[np.asarray(sample_ids, dtype=np.int64)]


@functools.lru_cache(maxsize=4)
def _load(path: str) -> np.ndarray:
    return np.load(path, mmap_mode="r")


def cached_backend(spec: BackendSpec) -> ScoringBackend:
    """This process's backend for ``spec``, opened on first use."""
    with _LOCK:
        if spec not in _BACKENDS:
            _BACKENDS[spec] = spec.open()
        return _BACKENDS[spec]


def close_cached_backends() -> int:
    """Close every backend this process opened; returns how many."""
    with _LOCK:
        for backend in _BACKENDS.values():
            backend.close()
        n = len(_BACKENDS)
        _BACKENDS.clear()
        return n


def score_batch_task(
    start: int,
    stop: int,
    *,
    root: str,
    run_id: str,
    spec: BackendSpec,
    source: SampleSource,
    plan: ScoringPlan,
    borrowers: np.ndarray,
) -> ScoringSummary:
    """One task: the batch [start, stop) of the run, committed from this worker."""
    committed = committed_keys(root, TABLE, run_id)
    if all(key in committed for _, _, key in plan.batch_keys(start, stop)):
        return ScoringSummary(0, len(plan.batch_keys(start, stop)), 0)

    def write(key, frame) -> bool:
        return append_batch(root, TABLE, run_id, key, frame)

    backend = cached_backend(spec)
    return score_batch(write, committed, backend, source, plan, borrowers, start, stop)


def score_run_on_dask(
    client: Any,
    root: str,
    run_id: str,
    spec: BackendSpec,
    source: SampleSource,
    plan: ScoringPlan,
    partners: np.ndarray,
    *,
    stages: Stages | None = None,
) -> ScoringSummary:
    """``driver.score_run`` on the cluster of ``client``: the same rows, batch for batch."""
    from distributed import KilledWorker, as_completed

    plan.validate(source.length)
    borrowers = check_partners(plan, partners)
    committed = committed_keys(root, TABLE, run_id)
    total, todo = NOTHING, []
    for start, stop in batch_ranges(plan):
        keys = [k for _, _, k in plan.batch_keys(start, stop)]
        if all(k in committed for k in keys):
            total += ScoringSummary(0, len(keys), 0)
        else:
            todo.append((start, stop))
    advance = (stages or Stages.quiet()).add(f"scoring {run_id} on Dask", plan.n_samples)
    advance(plan.n_samples - sum(b - a for a, b in todo), note="resumed")
    if not todo:
        return total
    shared = source
    if isinstance(source, TokenWindows):  # by path; other sources are small (seeds)
        shared = SavedWindows.save(source, Path(root) / WORK_DIR / run_id)
    resources = {"GPU": 1} if has_gpu_workers(client) else None
    futures = client.map(
        score_batch_task, [a for a, _ in todo], [b for _, b in todo],
        key=[f"score-batch-{run_id}-{a:08d}-{b:08d}" for a, b in todo],
        root=str(root), run_id=run_id, spec=spec, source=shared, plan=plan,
        borrowers=borrowers, resources=resources, pure=False,
    )  # fmt: skip
    ranges = dict(zip((f.key for f in futures), todo, strict=True))
    killed = []
    try:
        for future in as_completed(futures):
            start, stop = ranges[future.key]
            try:
                total += future.result()
            except KilledWorker:
                killed.append((start, stop))
            rate = total.tokens_per_second
            advance(stop - start, note=f"{rate:,.0f} tokens/s" if rate else "")
    finally:
        client.cancel(futures)
        if isinstance(shared, SavedWindows):
            Path(shared.path).unlink(missing_ok=True)
        with contextlib.suppress(OSError, TimeoutError):  # a worker may be restarting
            client.run(close_cached_backends)
    if killed:
        first = ", ".join(f"[{a}, {b})" for a, b in killed[:4])
        raise L2MError(
            f"{len(killed)} batch(es) of samples ({first}) killed the Dask workers that ran "
            "them again and again (distributed.scheduler.allowed-failures); every other batch "
            "is committed",
            "rerun the same command to resume (committed batches are skipped); if workers ran "
            "out of memory, raise --memory-limit or lower --batch-size",
        )
    return total
