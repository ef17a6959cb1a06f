"""Counting a corpus larger than memory: blocks in, hash-bucketed partial counts on disk.

Each block of tokens (whole documents, ``block_tokens`` at most) is counted on its own; the
per-key counts ``[key, count]`` of each series (corpus-wide int64 keys, see
``counting.pack_pair_keys``) are written to ``spill_dir/<series>/block-XXXXXX.arrow``, sorted
by a hash bucket of the key, one Arrow IPC record batch per bucket (uncompressed: written at
memory speed, read back memory-mapped). ``result()`` then merges one bucket of one series at a
time, reading only that bucket's batches; a key lives in exactly one bucket, so the buckets'
count-of-counts simply add up. The Dask path (``cluster.counting_disk``) writes and merges the
same files, one task per (block, series) and per bucket.

Peak memory ≈ counting one block (≈ 100 bytes per token with 2 threads) + one bucket of one
series at merge time. For PG19 (~3e9 tokens) in 1e7-token blocks and 64 buckets, a bucket of
the largest series holds at most ~3e9 / 64 ≈ 5e7 partial rows (≈ 0.8 GB), far fewer for
frequent pairs. The shuffle baseline re-pairs Y within each block (blocks span many documents).
This is the only library module that writes files (its own scratch space, removed after).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from l2m_analysis.corpus.corpus_counts import CorpusCounts, assemble, default_threads
from l2m_analysis.corpus.counting import (
    COUNT_SCHEMA,
    add_count_of_counts,
    check_engine,
    key_counts,
    merge_key_counts,
)
from l2m_analysis.corpus.series import (
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

_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: high bits pick a bucket
SPILL_SCHEMA = pa.schema([("key", pa.int64()), ("count", pa.int32())])


def bucket_of(keys: np.ndarray, n_buckets: int) -> np.ndarray:
    """int64 keys, shape (N,) -> bucket index in [0, n_buckets), shape (N,)."""
    with np.errstate(over="ignore"):
        mixed = keys.astype(np.uint64) * _HASH_MULTIPLIER  # wraps mod 2^64 on purpose
    return ((mixed >> np.uint64(32)) % np.uint64(n_buckets)).astype(np.int64)


def series_name(series: SeriesKey) -> str:
    kind, value, shuffled = series
    return f"{kind}-{value:06d}" + ("-shuffled" if shuffled else "")


def parse_series_name(name: str) -> SeriesKey:
    parts = name.split("-")
    return parts[0], int(parts[1]), len(parts) == 3


def spill_path(spill_dir: Path | str, series: SeriesKey, block_index: int) -> Path:
    """Where the partial counts of one series of one block are spilled."""
    return Path(spill_dir) / series_name(series) / f"block-{block_index:06d}.arrow"


def spilled_files(folder: Path | str) -> list[str]:
    """The spilled block files of one series folder, in block order."""
    return sorted(str(f) for f in Path(folder).glob("block-*.arrow"))


def write_partial_counts(path: Path, keys: np.ndarray, counts: np.ndarray, n_buckets: int) -> None:
    """Partial counts (keys, counts: shape (K,)) -> one Arrow IPC file at ``path``: rows sorted
    by hash bucket, record batch b = bucket b (empty ones too), 12 bytes a row. Written under
    a temporary name and renamed: a writer that dies leaves no partial file, and two writers of
    the same block (a task run twice on Dask) leave one whole file."""
    buckets = bucket_of(keys, n_buckets).astype(np.uint16)
    order = np.argsort(buckets, kind="stable")  # a radix sort for 16-bit integers
    edges = np.searchsorted(buckets[order], np.arange(n_buckets + 1))
    keys, counts = keys[order], counts[order].astype(np.int32)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with pa.OSFile(str(scratch), "wb") as sink, pa.ipc.new_file(sink, SPILL_SCHEMA) as out:
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                out.write_batch(pa.record_batch([keys[lo:hi], counts[lo:hi]], schema=SPILL_SCHEMA))
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    os.replace(scratch, path)


def merge_spilled_bucket(files: list[str], bucket: int, engine: str = "numpy") -> pl.DataFrame:
    """One hash bucket of the spilled partial counts of one series -> its count-of-counts
    [count, n_items] (each file's batch ``bucket``, memory-mapped)."""
    batches = [pa.ipc.open_file(pa.memory_map(f)).get_batch(bucket) for f in files]
    if not batches:
        return pl.DataFrame(schema=COUNT_SCHEMA)
    part = pl.from_arrow(pa.Table.from_batches(batches, schema=SPILL_SCHEMA))
    return merge_key_counts(part.with_columns(pl.col("count").cast(pl.Int64)), engine)


def ordered_map(pool: ThreadPoolExecutor, fn: Callable, items: list, window: int) -> Iterator:
    """``pool.map`` with at most ``window`` results pending, so memory stays bounded."""
    pending: list[Future] = []
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


def series_key_counts(
    compact: CompactTokens,
    group_ids: np.ndarray,
    series: SeriesKey,
    vocab_size: int,
    *,
    engine: str = "numpy",
    shuffle_seed: int = 0,
    baseline: str = "shift",
    block_index: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """One series of one block -> (corpus-wide int64 keys, their counts), shape (K,) each,
    sorted by key: the partial counts that blocks sharing keys must add up. The Dask path
    (``cluster.counting``) calls it once per (block, series) task, this module once per series
    of each block."""
    keys = series_keys(series, compact, group_ids, shuffle_seed=shuffle_seed, baseline=baseline,
                       block_index=block_index)  # fmt: skip
    partial = key_counts(keys, engine, ignore=compact.sentinel)
    if partial.is_empty():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    global_keys = compact.to_global(partial["key"].to_numpy(), pair=series != UNIGRAM,
                                    vocab_size=vocab_size)  # fmt: skip
    return global_keys, partial["count"].to_numpy()


class StreamingCounter:
    """Count blocks one after another with bounded memory; ``result()`` merges them."""

    def __init__(
        self,
        vocab_size: int,
        spill_dir: Path,
        distances=DEFAULT_DISTANCES,
        *,
        engine: str = "numpy",
        shuffle_seed: int | None = 0,
        baseline: str = "shift",
        n_buckets: int = 16,
        threads: int | None = None,
    ) -> None:
        if not 1 <= n_buckets < 1 << 15:
            raise InputError(f"n_buckets must be in [1, 32767], got {n_buckets}", "use e.g. 16")
        self.vocab_size = vocab_size
        self.spill_dir = Path(spill_dir)
        self.distances = check_distances(distances)
        self.engine = check_engine(engine)
        self.shuffle_seed = shuffle_seed
        self.baseline = check_baseline(baseline)
        self.n_buckets = n_buckets
        self.threads = threads or default_threads()
        self.n_blocks = 0
        self.n_tokens = 0
        if self.spill_dir.exists():
            shutil.rmtree(self.spill_dir)  # scratch from an interrupted run: start clean
        self.spill_dir.mkdir(parents=True)

    def add_block(
        self,
        token_ids: np.ndarray,
        group_ids: np.ndarray,
        on_series: Callable[[SeriesKey], None] | None = None,
    ) -> None:
        """Count one block (token_ids, group_ids: shape (N,), ordered by group then position).

        Groups must not continue in a later block: pairs across blocks are never formed.
        """
        token_ids = np.asarray(token_ids, dtype=np.int64)
        group_ids = np.asarray(group_ids, dtype=np.int64)
        if token_ids.size == 0:
            return
        if token_ids.size >= 2**31:
            raise InputError("a block holds 2^31 tokens or more", "use smaller blocks")
        compact = CompactTokens.of(token_ids, self.vocab_size)
        todo = series_list(self.distances, with_baseline=self.shuffle_seed is not None)

        def partial_counts(series: SeriesKey) -> tuple[SeriesKey, np.ndarray, np.ndarray]:
            return series, *series_key_counts(
                compact, group_ids, series, self.vocab_size, engine=self.engine,
                shuffle_seed=self.shuffle_seed or 0, baseline=self.baseline,
                block_index=self.n_blocks,
            )  # fmt: skip

        with ThreadPoolExecutor(self.threads) as pool:
            for series, keys, counts in ordered_map(pool, partial_counts, todo, self.threads):
                if keys.size:
                    self._spill(series, keys, counts)
                if on_series is not None:
                    on_series(series)
        self.n_blocks += 1
        self.n_tokens += int(token_ids.size)

    def _spill(self, series: SeriesKey, keys: np.ndarray, counts: np.ndarray) -> None:
        write_partial_counts(spill_path(self.spill_dir, series, self.n_blocks), keys, counts,
                             self.n_buckets)  # fmt: skip

    def result(
        self, on_series: Callable[[SeriesKey], None] | None = None, *, cleanup: bool = True
    ) -> CorpusCounts:
        """Merge every series bucket by bucket -> CorpusCounts; removes the spill folder."""
        if self.n_tokens == 0:
            raise InputError("no tokens to count (empty corpus)", "prepare a corpus first")
        tables: dict[SeriesKey, pl.DataFrame] = {}
        for folder in sorted(p for p in self.spill_dir.iterdir() if p.is_dir()):
            files = spilled_files(folder)
            per_bucket = [merge_spilled_bucket(files, b, self.engine)
                          for b in range(self.n_buckets)]  # fmt: skip
            series = parse_series_name(folder.name)
            tables[series] = add_count_of_counts(per_bucket)
            if on_series is not None:
                on_series(series)
        if cleanup:
            shutil.rmtree(self.spill_dir, ignore_errors=True)
        return assemble(tables, n_tokens=self.n_tokens)
