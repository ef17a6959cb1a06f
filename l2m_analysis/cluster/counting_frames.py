"""Counting on Dask through a Dask DataFrame shuffle (``--shuffle-method tasks`` or ``p2p``).

1. ``dask.dataframe.from_map`` over the tasks of the block plan (``block_series.BlockSeries``):
   each reads its block's ``tokens`` files once (paths in the graph, never arrays) and counts its
   series with the numpy kernel, giving [series, key, count] rows with corpus-wide keys.
2. ``shuffle(on="key")`` into ``split_out`` partitions brings every partial count of a key
   into one partition: ``tasks`` keeps the rows in worker memory (spilled when full), ``p2p`` is
   disk-backed. A corpus of ONE block needs no shuffle.
3. Each output partition merges its keys (``counting.merge_key_counts``) into count-of-counts
   per series; the partitions' tables are summed (their key sets are disjoint).

The default ``disk`` method (``cluster.counting``) does the same hash partitioning with numpy
inside the counting task and is 2x faster here (docs/scaling.md, measured); this path stays
for clusters whose workers share no scratch folder.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.dataframe as dd
import numpy as np
import pandas as pd
import polars as pl

from l2m_analysis.cluster.block_series import BlockSeries, partial_counts, read_block_codes
from l2m_analysis.corpus.counting import COUNT_SCHEMA, add_count_of_counts, merge_key_counts
from l2m_analysis.corpus.series import SeriesKey

PARTIAL_META = pd.DataFrame(
    {"series": np.array([], np.int16), "key": np.array([], np.int64),
     "count": np.array([], np.int32)}
)  # fmt: skip
CC_META = pd.DataFrame(
    {"series": np.array([], np.int16), "count": np.array([], np.int64),
     "n_items": np.array([], np.int64)}
)  # fmt: skip


def count_block_series(task: BlockSeries) -> pd.DataFrame:
    """Step 1 for one task: [series, key, count] of its series of one block (read once)."""
    block = read_block_codes(task.paths, task.vocab_size)
    parts = [PARTIAL_META]
    for index, _, keys, counts in partial_counts(block, task):
        parts.append(pd.DataFrame({"series": np.full(keys.size, index, np.int16), "key": keys,
                                   "count": counts.astype(np.int32)}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def merge_partition(partial: pd.DataFrame, engine: str = "numpy") -> pd.DataFrame:
    """Step 3 for one output partition: its partial counts -> count-of-counts per series."""
    out = [CC_META]
    for series, part in partial.groupby("series", sort=True):
        keys = pl.DataFrame({"key": part["key"].to_numpy(),
                             "count": part["count"].to_numpy().astype(np.int64)})  # fmt: skip
        cc = merge_key_counts(keys, engine).to_pandas()
        out.append(cc.assign(series=np.int16(series))[list(CC_META.columns)])
    return pd.concat(out, ignore_index=True).astype(CC_META.dtypes.to_dict())


def frame_shuffle_graph(
    tasks: Sequence[BlockSeries], n_blocks: int, split_out: int, method: str, engine: str
):
    """The lazy Dask DataFrame of count-of-counts [series, count, n_items] (steps 1–3)."""
    partial = dd.from_map(count_block_series, list(tasks), meta=PARTIAL_META, label="count-block")
    if n_blocks > 1:  # blocks share keys: bring each key's partial counts together
        partial = partial.shuffle(on="key", npartitions=split_out, shuffle_method=method)
    return partial.map_partitions(merge_partition, engine, meta=CC_META)


def series_tables(cc: pd.DataFrame, series: Sequence[SeriesKey]) -> dict[SeriesKey, pl.DataFrame]:
    """The computed [series, count, n_items] rows -> count-of-counts per series."""
    frame = pl.from_pandas(cc)
    return {
        s: add_count_of_counts([frame.filter(pl.col("series") == k).select("count", "n_items")
                                .cast(COUNT_SCHEMA)])
        for k, s in enumerate(series)
    }  # fmt: skip
