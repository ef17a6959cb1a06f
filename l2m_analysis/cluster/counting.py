"""Counting a corpus on a Dask cluster: the same block plan and kernels as in process.

1. Partitions: ``dask.dataframe.from_map`` over (block, group of series) of the block plan
   (``block_counting.plan_counting``): each task reads its block's ``tokens`` files (paths, never
   arrays, in the graph) once, orders them (``read_block``) and counts its series one after the
   other with the numpy kernel (``streaming.series_key_counts``), giving [series, key, count]
   with corpus-wide keys. Blocks hold whole documents, so no pair is lost; the shuffle baseline
   is seeded with (seed, distance, block index) exactly as in process: identical tables.
   ``series_groups`` puts as many series in one task as fit a worker's memory, and splits them
   further when there are too few tasks to keep every worker thread busy.
2. Hash partitioning: ``shuffle(on="key")`` into ``split_out`` partitions; every partial count
   of a key (of every series) lands in one partition. The ``tasks`` shuffle keeps the rows in
   worker memory (spilled to disk when full) and is the fastest; the disk-backed ``p2p``
   shuffle keeps memory constant for shuffles larger than the cluster (``choose_shuffle``).
   A corpus of ONE block needs no shuffle: its tasks already hold every key of their series.
3. Each output partition merges its keys (``counting.merge_key_counts``, sort + run lengths)
   into count-of-counts per series; the partitions' count-of-counts are then summed (their key
   sets are disjoint). Summing per-BLOCK count-of-counts instead would be wrong: blocks share keys.

Memory of a task ≈ block tokens × (``BYTES_PER_TOKEN`` + ``BYTES_PER_SERIES_TOKEN`` × its
series); ``check_worker_memory`` refuses a plan whose block cannot fit a worker even one series
at a time. docs/scaling.md says how to choose --block-tokens and --split-out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import polars as pl

from l2m_analysis.cluster.connect import worker_limits
from l2m_analysis.corpus.block_counting import (
    CountOptions,
    check_whole_documents,
    plan_counting,
    read_block,
)
from l2m_analysis.corpus.corpus_counts import CorpusCounts, assemble
from l2m_analysis.corpus.counting import (
    COUNT_SCHEMA,
    add_count_of_counts,
    check_engine,
    merge_key_counts,
)
from l2m_analysis.corpus.series import (
    CompactTokens,
    SeriesKey,
    check_baseline,
    check_distances,
    series_list,
)
from l2m_analysis.corpus.streaming import series_key_counts
from l2m_analysis.errors import InputError, L2MError

BYTES_PER_TOKEN = 120  # peak bytes per block token of a counting task, one series
BYTES_PER_SERIES_TOKEN = 40  # its partial counts, per block token and series it holds
WORKER_BASELINE_BYTES = 300 * 2**20  # a worker process before it counts anything
SHUFFLE_METHODS = ("auto", "tasks", "p2p")
PARTIAL_META = pd.DataFrame(
    {"series": np.array([], np.int16), "key": np.array([], np.int64),
     "count": np.array([], np.int32)}
)  # fmt: skip
CC_META = pd.DataFrame(
    {"series": np.array([], np.int16), "count": np.array([], np.int64),
     "n_items": np.array([], np.int64)}
)  # fmt: skip


@dataclass(frozen=True)
class BlockSeries:
    """One counting task: the series ``series`` (with their indices ``series_index`` in the
    sweep) of block ``block_index``, whose ``tokens`` files are ``paths``."""

    paths: tuple[str, ...]
    block_index: int
    series: tuple[SeriesKey, ...]
    series_index: tuple[int, ...]
    vocab_size: int
    engine: str
    baseline: str
    seed: int | None


def count_block_series(task: BlockSeries) -> pd.DataFrame:
    """Step 1 for one task: [series, key, count] of its series of one block (read once)."""
    token_ids, group_ids = read_block(task.paths)
    compact = CompactTokens.of(token_ids, task.vocab_size)
    del token_ids
    parts = [PARTIAL_META]
    for series, index in zip(task.series, task.series_index, strict=True):
        keys, counts = series_key_counts(
            compact, group_ids, series, task.vocab_size, engine=task.engine,
            shuffle_seed=task.seed or 0, baseline=task.baseline, block_index=task.block_index,
        )  # fmt: skip
        parts.append(pd.DataFrame({"series": np.full(keys.size, index, np.int16), "key": keys,
                                   "count": counts.astype(np.int32)}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def series_groups(
    n_series: int, block_rows: int, n_blocks: int, task_bytes: float | None, threads: int
) -> list[range]:
    """Consecutive groups of series indices, one task per group and block: as many series
    as fit ``task_bytes`` (None: no limit), but at least 2 tasks per worker thread."""
    fit = n_series
    if task_bytes is not None:
        fit = int((task_bytes / block_rows - BYTES_PER_TOKEN) // BYTES_PER_SERIES_TOKEN)
    wanted_groups = max(math.ceil(n_series / max(fit, 1)), math.ceil(2 * threads / n_blocks))
    size = max(1, math.ceil(n_series / min(wanted_groups, n_series)))
    return [range(a, min(a + size, n_series)) for a in range(0, n_series, size)]


def merge_partition(partial: pd.DataFrame, engine: str = "numpy") -> pd.DataFrame:
    """Step 3 for one output partition: its partial counts -> count-of-counts per series."""
    out = [CC_META]
    for series, part in partial.groupby("series", sort=True):
        keys = pl.DataFrame({"key": part["key"].to_numpy(),
                             "count": part["count"].to_numpy().astype(np.int64)})  # fmt: skip
        cc = merge_key_counts(keys, engine).to_pandas()
        out.append(cc.assign(series=np.int16(series))[list(CC_META.columns)])
    return pd.concat(out, ignore_index=True).astype(CC_META.dtypes.to_dict())


def count_token_files_on_dask(
    client: Any,
    files: Sequence[tuple[Path, int]],
    vocab_size: int,
    distances: Sequence[int],
    options: CountOptions,
    *,
    split_out: int | None = None,
    shuffle_method: str = "auto",
) -> CorpusCounts:
    """``block_counting.count_token_files`` on the cluster of ``client``: identical tables.

    split_out: output partitions of the hash shuffle (default: one per task, so an output
    partition holds about as many rows as a task wrote). shuffle_method: ``tasks`` (in worker
    memory, spilled when full; fastest), ``p2p`` (disk-backed, constant memory; for shuffles
    larger than the cluster's memory) or ``auto`` (``choose_shuffle``).
    """
    if sum(n for _, n in files) == 0:
        raise InputError("no tokens to count (empty corpus)", "prepare a corpus with tokens first")
    check_engine(options.engine)
    check_baseline(options.baseline)
    plan = plan_counting(files, distances, options)
    paths = [str(path) for path, _ in files]
    check_whole_documents(paths, plan.blocks)
    block_rows = max(sum(files[i][1] for i in block) for block in plan.blocks)
    task_bytes = check_worker_memory(client, block_rows)
    series = series_list(check_distances(distances), with_baseline=options.seed is not None)
    threads = sum(t for _, t in worker_limits(client))
    groups = series_groups(len(series), block_rows, len(plan.blocks), task_bytes, threads)
    tasks = [
        BlockSeries(tuple(paths[i] for i in block), b, tuple(series[k] for k in group),
                    tuple(group), vocab_size, options.engine, options.baseline, options.seed)
        for b, block in enumerate(plan.blocks) for group in groups
    ]  # fmt: skip
    partial = dd.from_map(count_block_series, tasks, meta=PARTIAL_META, label="count-block")
    if len(plan.blocks) > 1:  # blocks share keys: bring each key's partial counts together
        n_out = split_out or len(tasks)
        if n_out < 1:
            raise InputError(f"split_out must be >= 1, got {n_out}", "use e.g. 16")
        method = choose_shuffle(client, shuffle_method, plan.n_tokens * len(series))
        partial = partial.shuffle(on="key", npartitions=n_out, shuffle_method=method)
    merged = partial.map_partitions(merge_partition, options.engine, meta=CC_META)
    cc = compute_or_explain(client, merged, block_rows)
    tables = {}
    frame = pl.from_pandas(cc)
    for k, s in enumerate(series):
        parts = frame.filter(pl.col("series") == k).select("count", "n_items")
        tables[s] = add_count_of_counts([parts.cast(COUNT_SCHEMA)])
    return assemble(tables, n_tokens=plan.n_tokens)


def choose_shuffle(client: Any, method: str, max_rows: int) -> str:
    """``auto``: ``tasks`` when the partial counts (at most one row per token and series, 40
    bytes a row in flight) fit a quarter of the cluster's memory, else ``p2p``."""
    if method not in SHUFFLE_METHODS:
        raise InputError(f"unknown shuffle method {method!r}",
                         f"use one of {', '.join(SHUFFLE_METHODS)}")  # fmt: skip
    if method != "auto":
        return method
    memory = [limit for limit, _ in worker_limits(client)]
    if not memory or 0 in memory:  # a worker without a limit: nothing to compare with
        return "p2p"
    return "tasks" if 40 * max_rows < 0.25 * sum(memory) else "p2p"


def check_worker_memory(client: Any, block_rows: int) -> float | None:
    """The memory one task may use on the tightest worker (None: no limit); refuses a plan
    whose largest block cannot be counted even one series per task (a worker runs one task
    per thread at once, and pauses at 80 % of its limit)."""
    need_per_task = (BYTES_PER_TOKEN + BYTES_PER_SERIES_TOKEN) * block_rows
    budgets = []
    for limit, threads in worker_limits(client):
        if not limit:
            continue
        budget = (0.8 * limit - WORKER_BASELINE_BYTES) / threads
        if budget < need_per_task:
            fits = max(1, int(budget / (BYTES_PER_TOKEN + BYTES_PER_SERIES_TOKEN)))
            raise InputError(
                f"a counting block of {block_rows:,} tokens needs about "
                f"{need_per_task / 2**30:.2f} GiB per task and a worker runs {threads} at "
                f"once, but its --memory-limit is {limit / 2**30:.2f} GiB",
                f"raise --memory-limit to at least "
                f"{math.ceil((WORKER_BASELINE_BYTES + threads * need_per_task) / 0.8 / 2**20)}"
                f"MiB, or lower --block-tokens to about {fits:,} (or --threads-per-worker)",
            )
        budgets.append(budget)
    return min(budgets) if budgets else None


def compute_or_explain(client: Any, collection: Any, block_rows: int) -> pd.DataFrame:
    """``client.compute(collection)``; workers killed again and again become a clear error."""
    from distributed import KilledWorker

    try:
        return client.compute(collection).result()
    except KilledWorker as err:
        raise L2MError(
            f"Dask workers died repeatedly while counting ({err}); blocks of up to "
            f"{block_rows:,} tokens need about "
            f"{(BYTES_PER_TOKEN + BYTES_PER_SERIES_TOKEN) * block_rows / 2**30:.2f} GiB per task "
            "and more with several series",
            "raise --memory-limit, lower --block-tokens or --threads-per-worker, then rerun "
            "(committed series are kept)",
        ) from err
