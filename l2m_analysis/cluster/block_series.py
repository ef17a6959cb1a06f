"""One counting task of the Dask paths: some series of one block, and the two steps every
counting method shares, reading the block and counting its series with the in-process kernel."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from l2m_analysis.corpus.block_counting import read_block
from l2m_analysis.corpus.series import CompactTokens, SeriesKey
from l2m_analysis.corpus.streaming import series_key_counts

Block = tuple[CompactTokens, np.ndarray]  # (compact token codes, group ids), shape (N,) each


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


def read_block_codes(paths: tuple[str, ...], vocab_size: int) -> Block:
    """One block's ``tokens`` files -> (compact token codes, group ids), shape (N,) each."""
    token_ids, group_ids = read_block(paths)
    return CompactTokens.of(token_ids, vocab_size), group_ids


def partial_counts(
    block: Block, task: BlockSeries
) -> Iterator[tuple[int, SeriesKey, np.ndarray, np.ndarray]]:
    """(series index, series, keys, counts) of each series of the task, one after the other:
    corpus-wide int64 keys and their counts in this block, shape (K,) each, sorted by key
    (``streaming.series_key_counts``; the baseline seeded with (seed, distance, block))."""
    compact, group_ids = block
    for series, index in zip(task.series, task.series_index, strict=True):
        keys, counts = series_key_counts(
            compact, group_ids, series, task.vocab_size, engine=task.engine,
            shuffle_seed=task.seed or 0, baseline=task.baseline, block_index=task.block_index,
        )  # fmt: skip
        yield index, series, keys, counts
