"""Counting a corpus on a Dask cluster: the same block plan and kernels as in process.

1. Partitions: ``dask.dataframe.from_map`` over (block, series) of the block plan
   (``block_counting.plan_counting``): each task reads its block's ``tokens`` files (paths, never
   arrays, in the graph), orders them (``read_block``) and counts ONE series with the numpy
   kernel (``streaming.series_key_counts``), giving [series, key, count] with corpus-wide keys.
   Blocks hold whole documents, so no pair is lost; the shuffle baseline is seeded with
   (seed, distance, block index) exactly as in process, so both paths give identical tables.
2. Hash partitioning: ``shuffle(on=["series", "key"])`` (p2p when the cluster has pyarrow)
   into ``split_out`` partitions; every partial count of a key lands in one partition.
3. Each output partition merges its keys (``counting.merge_key_counts``, sort + run lengths)
   into count-of-counts per series; the partitions' count-of-counts are then summed (their key
   sets are disjoint). Summing per-BLOCK count-of-counts instead would be wrong: blocks share keys.

Memory per task ≈ ``BYTES_PER_TOKEN`` × the block's tokens; per merge ≈ 40 bytes × the rows of
one output partition. ``check_worker_memory`` refuses a plan whose block cannot fit a worker.
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

BYTES_PER_TOKEN = 100  # peak bytes per block token of one counting task (docs/scaling.md)
WORKER_BASELINE_BYTES = 300 * 2**20  # a worker process before it counts anything
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
    """One counting task: series ``series`` (index ``series_index`` of the sweep) of block
    ``block_index``, whose ``tokens`` files are ``paths``."""

    paths: tuple[str, ...]
    block_index: int
    series: SeriesKey
    series_index: int
    vocab_size: int
    engine: str
    baseline: str
    seed: int | None


def count_block_series(task: BlockSeries) -> pd.DataFrame:
    """Step 1 for one task: [series, key, count] of one series of one block."""
    token_ids, group_ids = read_block(task.paths)
    compact = CompactTokens.of(token_ids, task.vocab_size)
    keys, counts = series_key_counts(
        compact, group_ids, task.series, task.vocab_size, engine=task.engine,
        shuffle_seed=task.seed or 0, baseline=task.baseline, block_index=task.block_index,
    )  # fmt: skip
    series = np.full(keys.size, task.series_index, np.int16)
    return pd.DataFrame({"series": series, "key": keys, "count": counts.astype(np.int32)})


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
) -> CorpusCounts:
    """``block_counting.count_token_files`` on the cluster of ``client``: identical tables.

    split_out: output partitions of the hash shuffle (default: one per (block, series) task,
    so an output partition holds about as many rows as a task's block).
    """
    if sum(n for _, n in files) == 0:
        raise InputError("no tokens to count (empty corpus)", "prepare a corpus with tokens first")
    check_engine(options.engine)
    check_baseline(options.baseline)
    plan = plan_counting(files, distances, options)
    paths = [str(path) for path, _ in files]
    check_whole_documents(paths, plan.blocks)
    rows = [sum(files[i][1] for i in block) for block in plan.blocks]
    check_worker_memory(client, max(rows))
    series = series_list(check_distances(distances), with_baseline=options.seed is not None)
    tasks = [
        BlockSeries(tuple(paths[i] for i in block), b, s, k, vocab_size, options.engine,
                    options.baseline, options.seed)
        for b, block in enumerate(plan.blocks) for k, s in enumerate(series)
    ]  # fmt: skip
    partial = dd.from_map(count_block_series, tasks, meta=PARTIAL_META, label="count-block")
    n_out = split_out or len(tasks)
    if n_out < 1:
        raise InputError(f"split_out must be >= 1, got {n_out}", "use e.g. 16")
    shuffled = partial.shuffle(on=["series", "key"], npartitions=n_out)
    merged = shuffled.map_partitions(merge_partition, options.engine, meta=CC_META)
    cc = compute_or_explain(client, merged, max(rows))
    tables = {}
    frame = pl.from_pandas(cc)
    for k, s in enumerate(series):
        parts = frame.filter(pl.col("series") == k).select("count", "n_items")
        tables[s] = add_count_of_counts([parts.cast(COUNT_SCHEMA)])
    return assemble(tables, n_tokens=plan.n_tokens)


def check_worker_memory(client: Any, block_rows: int) -> None:
    """Refuse a plan whose largest block cannot be counted within a worker's memory limit
    (tasks of one worker run at once, one per thread)."""
    need_per_task = BYTES_PER_TOKEN * block_rows
    for limit, threads in worker_limits(client):
        if limit and WORKER_BASELINE_BYTES + threads * need_per_task > 0.8 * limit:
            fits = max(1, int((0.8 * limit - WORKER_BASELINE_BYTES) / threads / BYTES_PER_TOKEN))
            raise InputError(
                f"a counting block of {block_rows:,} tokens needs about "
                f"{need_per_task / 2**30:.2f} GiB per task ({BYTES_PER_TOKEN} bytes a token) "
                f"and a worker runs {threads} at once, but its --memory-limit is "
                f"{limit / 2**30:.2f} GiB",
                f"raise --memory-limit to at least "
                f"{math.ceil((WORKER_BASELINE_BYTES + threads * need_per_task) / 0.8 / 2**20)}"
                f"MiB, or lower --block-tokens to about {fits:,} (or --threads-per-worker)",
            )


def compute_or_explain(client: Any, collection: Any, block_rows: int) -> pd.DataFrame:
    """``client.compute(collection)``; workers killed again and again become a clear error."""
    from distributed import KilledWorker

    try:
        return client.compute(collection).result()
    except KilledWorker as err:
        raise L2MError(
            f"Dask workers died repeatedly while counting ({err}); blocks of up to "
            f"{block_rows:,} tokens need about {BYTES_PER_TOKEN * block_rows / 2**30:.2f} GiB "
            "per task",
            "raise --memory-limit, lower --block-tokens or --threads-per-worker, then rerun "
            "(committed series are kept)",
        ) from err
