"""Counting on Dask, the default ``disk`` method: a map-reduce through a scratch folder that
every worker can read (the one beside the warehouse, like the ``tokens`` files tasks read by
path). Task keys: ``read-block-*``, ``count-block-*``, ``merge-bucket-*``.

1. Read: one task per block reads its ``tokens`` files (``read_block``: whole documents,
   ordered) and keeps (compact token codes, group ids) in worker memory, ≈ 12 bytes a token,
   until that block's count tasks are done.
2. Count: one task per (block, series) counts it with the in-process kernel
   (``streaming.series_key_counts``) and writes the partial counts [key, count] (corpus-wide
   keys) hash-partitioned with numpy into ``n_buckets`` buckets as ONE Arrow IPC file, a record
   batch per bucket (``streaming.write_partial_counts``: the in-process spill format, renamed
   into place, so a task run twice leaves one whole file); it returns the file's path. The
   shuffle baseline is seeded with (seed, distance, block index) exactly as in process.
3. Merge: one task per bucket reads that bucket's batch of every file the count tasks wrote,
   per series, and merges them (``streaming.merge_spilled_bucket``: sort + run lengths) into
   count-of-counts; a key lives in one bucket, so the buckets' tables simply add up. Summing
   per-BLOCK count-of-counts instead would be wrong: blocks share keys. A file the merge cannot
   see (a scratch folder that is not shared) is a clear error, never a missing count.

Blocks run in plan order (task priorities): a worker holds the block it counts and, for a
moment, the next one it reads; peak memory follows the block size, not the corpus.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from l2m_analysis.cluster.block_series import Block, BlockSeries, partial_counts, read_block_codes
from l2m_analysis.corpus.block_counting import COUNT_STAGE, MERGE_STAGE
from l2m_analysis.corpus.counting import add_count_of_counts
from l2m_analysis.corpus.series import SeriesKey
from l2m_analysis.corpus.streaming import merge_spilled_bucket, spill_path, write_partial_counts
from l2m_analysis.errors import InputError


def spill_block_series(
    block: Block, task: BlockSeries, spill_dir: str, n_buckets: int
) -> list[tuple[int, str]]:
    """Step 2 for one task: count its series of its block and write each one's partial counts
    to ``spill_dir`` in ``n_buckets`` hash buckets -> [(series index, file)] of the files
    written (none for a series without pairs in this block)."""
    written = []
    for index, series, keys, counts in partial_counts(block, task):
        if keys.size:
            path = spill_path(spill_dir, series, task.block_index)
            write_partial_counts(path, keys, counts, n_buckets)
            written.append((index, str(path)))
    return written


def merge_bucket(
    n_series: int, bucket: int, engine: str, *written: list[tuple[int, str]]
) -> list[pl.DataFrame]:
    """Step 3 for one bucket: count-of-counts [count, n_items] of that bucket of every block's
    partial counts, one per series; ``written``: what each count task wrote (its result)."""
    files: list[list[str]] = [[] for _ in range(n_series)]
    for index, path in sorted(p for task in written for p in task):
        files[index].append(path)
    unseen = [path for paths in files for path in paths if not Path(path).exists()]
    if unseen:
        raise InputError(
            f"a Dask worker cannot see {len(unseen)} spill file(s) that other workers wrote, "
            f"e.g. {unseen[0]}: the scratch folder is not shared",
            "pass --spill-dir on a file system every worker mounts at the same path (like the "
            "warehouse), or use --shuffle-method p2p",
        )
    return [merge_spilled_bucket(paths, bucket, engine) for paths in files]


def count_through_disk(
    client: Any,
    tasks: list[BlockSeries],
    series: list[SeriesKey],
    spill_dir: Path | None,
    n_buckets: int,
    engine: str,
    step: Callable[[str], None],
    explain: Callable[[Iterator], Iterator],
) -> dict[SeriesKey, pl.DataFrame]:
    """Steps 1–3 for the tasks -> count-of-counts per series. ``step`` is
    called with "count" per series counted and "merge" per bucket merged; ``explain`` wraps the
    iteration over finished tasks (clear errors). The scratch folder (None: a temporary one) is
    emptied first (a killed run's files) and removed at the end."""
    from distributed import as_completed

    scratch = Path(spill_dir or tempfile.mkdtemp(prefix="l2m-spill-"))
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    run = uuid.uuid4().hex[:8]  # keys unique to this call: a rerun never reuses a result
    try:
        counted, block_of, block = [], {}, None
        for t in tasks:  # in block order, and earlier blocks first (priority)
            b = t.block_index
            if block is None or block.key != f"read-block-{run}-{b}":
                block = client.submit(read_block_codes, t.paths, t.vocab_size, priority=-b,
                                      key=f"read-block-{run}-{b}")  # fmt: skip
            counted.append(client.submit(
                spill_block_series, block, t, str(scratch), n_buckets, priority=-b,
                key=f"count-block-{run}-{b}-{t.series_index[0]}",
            ))  # fmt: skip
            block_of[counted[-1].key] = t
        del block  # held by its count tasks only: freed on the worker once they are done
        n_blocks = len({t.block_index for t in tasks})
        merges = [
            client.submit(merge_bucket, len(series), k, engine, *counted, priority=-n_blocks,
                          key=f"merge-bucket-{run}-{k}")
            for k in range(n_buckets)
        ]  # fmt: skip
        buckets: list[list[pl.DataFrame]] = []
        for future in explain(as_completed(counted + merges)):
            task = block_of.get(future.key)
            if task is None:
                buckets.append(future.result())
                step(MERGE_STAGE)
                continue
            for _ in task.series:
                step(COUNT_STAGE)
        return {s: add_count_of_counts([b[k] for b in buckets]) for k, s in enumerate(series)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
