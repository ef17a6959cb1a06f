"""Count every series of a two-point MI sweep (``series.py``) for one in-memory block.

Series are independent, so they are counted on a small thread pool (numpy's sort, Polars and
DuckDB all release the GIL); each worker builds its own keys, so at most ``threads`` key arrays
exist at once. With the numpy engine the 1-gram series is a direct ``bincount`` and the
adjacent 2-gram series reuses distance 1 when it is in the sweep.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from l2m_analysis.corpus.counting import (
    COUNT_SCHEMA,
    check_engine,
    count_of_counts,
    counts_to_count_of_counts,
    n_observations,
)
from l2m_analysis.corpus.series import (
    BIGRAM,
    DEFAULT_DISTANCES,
    UNIGRAM,
    CompactTokens,
    SeriesKey,
    check_baseline,
    check_distances,
    series_keys,
    series_list,
)
from l2m_analysis.errors import InputError

NGRAM_SCHEMA = {"order": pl.Int32, **COUNT_SCHEMA}
PAIR_SCHEMA = {"distance": pl.Int32, "shuffled": pl.Boolean, **COUNT_SCHEMA}


@dataclass(frozen=True)
class CorpusCounts:
    """Counts of one corpus. ngrams: [order, count, n_items]; pairs: [distance, shuffled,
    count, n_items]. A distance with no pair (every group shorter than d) has no rows."""

    ngrams: pl.DataFrame
    pairs: pl.DataFrame
    n_tokens: int

    def pair_totals(self) -> pl.DataFrame:
        """Observations per series: [distance, shuffled, n_pairs]."""
        return (
            self.pairs.group_by("distance", "shuffled")
            .agg((pl.col("count") * pl.col("n_items")).sum().alias("n_pairs"))
            .sort("distance", "shuffled")
        )


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def count_corpus(
    token_ids: np.ndarray,
    group_ids: np.ndarray,
    vocab_size: int,
    distances=DEFAULT_DISTANCES,
    *,
    engine: str = "numpy",
    shuffle_seed: int | None = 0,
    baseline: str = "shift",
    threads: int | None = None,
    on_series: Callable[[SeriesKey], None] | None = None,
) -> CorpusCounts:
    """Count one block held in memory. token_ids, group_ids: shape (N,), ordered by group,
    then position (``series.order_block``). shuffle_seed None: no baseline series."""
    check_engine(engine)
    check_baseline(baseline)
    distances = check_distances(distances)
    token_ids = np.asarray(token_ids, dtype=np.int64)
    group_ids = np.asarray(group_ids, dtype=np.int64)
    if token_ids.shape != group_ids.shape:
        raise InputError("token_ids and group_ids differ in length", "pass one group per token")
    if token_ids.size == 0:
        raise InputError("no tokens to count (empty corpus)", "prepare a corpus with tokens first")
    compact = CompactTokens.of(token_ids, vocab_size)
    todo = series_list(distances, with_baseline=shuffle_seed is not None)
    reuse_bigram = engine == "numpy" and ("pair", 1, False) in todo
    if reuse_bigram:
        todo.remove(BIGRAM)

    def count(series: SeriesKey) -> pl.DataFrame:
        if series == UNIGRAM and engine == "numpy":
            table = counts_to_count_of_counts(np.bincount(compact.codes))
        else:
            keys = series_keys(series, compact, group_ids, shuffle_seed=shuffle_seed or 0,
                               baseline=baseline)  # fmt: skip
            table = count_of_counts(keys, engine, ignore=compact.sentinel)
        if on_series is not None:
            on_series(series)
        return table

    with ThreadPoolExecutor(threads or default_threads()) as pool:
        tables = dict(zip(todo, pool.map(count, todo), strict=True))
    if reuse_bigram:
        tables[BIGRAM] = tables[("pair", 1, False)]
        if on_series is not None:
            on_series(BIGRAM)
    return assemble(tables, n_tokens=int(token_ids.size))


def assemble(tables: dict[SeriesKey, pl.DataFrame], n_tokens: int) -> CorpusCounts:
    """Per-series count-of-counts -> CorpusCounts (empty series are left out)."""
    ngrams = [
        t.with_columns(order=pl.lit(v, pl.Int32))
        for (kind, v, _), t in tables.items()
        if kind == "ngram" and n_observations(t)
    ]
    pairs = [
        t.with_columns(distance=pl.lit(v, pl.Int32), shuffled=pl.lit(s))
        for (kind, v, s), t in tables.items()
        if kind == "pair" and n_observations(t)
    ]
    ngram_df = pl.concat(ngrams).select(list(NGRAM_SCHEMA)) if ngrams else None
    pair_df = pl.concat(pairs).select(list(PAIR_SCHEMA)) if pairs else None
    return CorpusCounts(
        (ngram_df if ngram_df is not None else pl.DataFrame(schema=NGRAM_SCHEMA))
        .cast(NGRAM_SCHEMA)
        .sort("order", "count"),
        (pair_df if pair_df is not None else pl.DataFrame(schema=PAIR_SCHEMA))
        .cast(PAIR_SCHEMA)
        .sort("distance", "shuffled", "count"),
        n_tokens,
    )
