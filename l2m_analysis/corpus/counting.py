"""Vectorized token and token-pair counting as count-of-counts (Grassberger's input, Eq. A.12).

A pair of tokens ``(x, y)`` d apart is packed into ONE integer key ``x * V + y`` (V = vocabulary
size, checked against int64 overflow), and the keys are counted by one of three engines:

* ``numpy``  sort + run lengths (numpy's sort is a SIMD sort on AVX-512 machines: the fastest
  here, see ``python -m benchmarks.pair_counting``);
* ``polars`` a hash ``group_by`` / ``value_counts``;
* ``duckdb`` a SQL ``GROUP BY`` (the one to use when a table outgrows memory: DuckDB spills).

All three return identical tables. Count-of-counts: ``n_items`` distinct keys were each seen
exactly ``count`` times; the total number of observations is ``sum(count * n_items)``.
Pairs never cross a group boundary (a document, or a sample): arrays are ordered by group,
then position, and a pair is kept only when both tokens carry the same group id.
"""

from __future__ import annotations

import threading
from math import isqrt

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from l2m_analysis.errors import InputError

ENGINES = ("numpy", "polars", "duckdb")
# x * V + y <= (V - 1) * V + (V - 1) = V^2 - 1 must fit a signed 64-bit integer.
MAX_PACKABLE_VOCAB = isqrt(2**63 - 1)  # 3_037_000_499
COUNT_SCHEMA = {"count": pl.Int64, "n_items": pl.Int64}
KEY_COUNT_SCHEMA = {"key": pl.Int64, "count": pl.Int64}


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise InputError(f"unknown counting engine {engine!r}", f"use one of {', '.join(ENGINES)}")
    return engine


def check_key_packing(vocab_size: int) -> int:
    """Raise InputError unless every pair key ``x * V + y`` fits a signed 64-bit integer."""
    if int(vocab_size) < 1:
        raise InputError(f"vocabulary size must be >= 1, got {vocab_size}", "check the tokenizer")
    if int(vocab_size) > MAX_PACKABLE_VOCAB:
        raise InputError(
            f"vocabulary of {vocab_size:,} tokens overflows the 64-bit pair key x*V + y "
            f"(at most {MAX_PACKABLE_VOCAB:,} tokens fit)",
            "remap token ids to a dense range 0..n_distinct-1 first (np.unique(..., "
            "return_inverse=True)) and count with that smaller vocabulary",
        )
    return int(vocab_size)


def check_token_ids(token_ids: np.ndarray, vocab_size: int) -> None:
    """Token ids must lie in [0, V): a larger id would silently collide with another pair key."""
    if token_ids.size and (int(token_ids.min()) < 0 or int(token_ids.max()) >= vocab_size):
        raise InputError(
            f"token ids span [{int(token_ids.min())}, {int(token_ids.max())}] but the vocabulary "
            f"size is {vocab_size}",
            "pass the tokenizer's full vocabulary size (added tokens included)",
        )


def pack_pair_keys(x: np.ndarray, y: np.ndarray, vocab_size: int) -> np.ndarray:
    """(x, y) token ids, shape (N,) each -> int64 keys x * V + y, shape (N,)."""
    vocab_size = check_key_packing(vocab_size)
    x = np.asarray(x, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    check_token_ids(x, vocab_size)
    check_token_ids(y, vocab_size)
    return x * vocab_size + y


def unpack_pair_keys(keys: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """int64 keys -> (x, y), the inverse of ``pack_pair_keys``."""
    keys = np.asarray(keys, dtype=np.int64)
    return keys // vocab_size, keys % vocab_size


def pairs_at_distance(
    token_ids: np.ndarray, group_ids: np.ndarray, distance: int
) -> tuple[np.ndarray, np.ndarray]:
    """Token pairs (w_i, w_{i+d}) inside one group, as two arrays of shape (n_pairs,).

    token_ids, group_ids: shape (N,), ordered by group then position, each group contiguous and
    gap-free. Pairs whose tokens sit in different groups are dropped (zero-copy slices + mask).
    """
    if distance < 1:
        raise InputError(f"distance must be >= 1, got {distance}", "pass d in 1, 2, 4, ...")
    if distance >= len(token_ids):
        empty = token_ids[:0]
        return empty, empty
    same_group = group_ids[:-distance] == group_ids[distance:]
    x, y = token_ids[:-distance], token_ids[distance:]
    if same_group.all():
        return x, y
    return x[same_group], y[same_group]


def count_of_counts(
    keys: np.ndarray, engine: str = "numpy", *, ignore: int | None = None
) -> pl.DataFrame:
    """Integer keys, shape (N,) -> count-of-counts frame [count, n_items], sorted by count.

    ignore: a key value not to count (the sentinel that marks pairs crossing a group boundary;
    cheapest when it is the dtype's maximum, as ``sentinel_of`` gives).
    """
    check_engine(engine)
    keys = np.ascontiguousarray(keys)
    if engine == "numpy":
        sorted_keys = _drop_sorted(np.sort(keys), ignore)
        if sorted_keys.size == 0:
            return pl.DataFrame(schema=COUNT_SCHEMA)
        return counts_to_count_of_counts(_run_starts(sorted_keys)[1])
    if engine == "polars":
        per_key = _polars_keys(keys, ignore).value_counts(name="count")
        return _cc_polars(per_key)
    return _duck(
        "SELECT count, count(*) AS n_items FROM (SELECT count(*) AS count FROM t "
        f"{_where(ignore)} GROUP BY key) GROUP BY count ORDER BY count",
        pa.table({"key": keys}),
        COUNT_SCHEMA,
    )


def key_counts(
    keys: np.ndarray, engine: str = "numpy", *, ignore: int | None = None
) -> pl.DataFrame:
    """Integer keys, shape (N,) -> [key, count] per distinct key, sorted by key (``ignore`` as
    in ``count_of_counts``)."""
    check_engine(engine)
    keys = np.ascontiguousarray(keys)
    if engine == "numpy":
        sorted_keys = _drop_sorted(np.sort(keys), ignore)
        if sorted_keys.size == 0:
            return pl.DataFrame(schema=KEY_COUNT_SCHEMA)
        distinct, counts = _sorted_run_lengths(sorted_keys)
        return pl.DataFrame({"key": distinct.astype(np.int64), "count": counts})
    if engine == "polars":
        out = _polars_keys(keys, ignore).value_counts(name="count").sort("key")
        return out.cast(KEY_COUNT_SCHEMA)
    return _duck(
        f"SELECT key, count(*) AS count FROM t {_where(ignore)} GROUP BY key ORDER BY key",
        pa.table({"key": keys}),
        KEY_COUNT_SCHEMA,
    )


def sentinel_of(dtype) -> int:
    """The largest value of an integer dtype: marks a pair that must not be counted."""
    return int(np.iinfo(dtype).max)


def _drop_sorted(sorted_keys: np.ndarray, ignore: int | None) -> np.ndarray:
    if ignore is None or sorted_keys.size == 0:
        return sorted_keys
    ignore = sorted_keys.dtype.type(ignore)
    lo = int(np.searchsorted(sorted_keys, ignore, side="left"))
    hi = int(np.searchsorted(sorted_keys, ignore, side="right"))
    if hi == sorted_keys.size:  # the sentinel is the maximum: a free slice
        return sorted_keys[:lo]
    return np.concatenate((sorted_keys[:lo], sorted_keys[hi:]))


def _polars_keys(keys: np.ndarray, ignore: int | None) -> pl.Series:
    series = pl.Series("key", keys)
    return series if ignore is None else series.filter(series != ignore)


def _where(ignore: int | None) -> str:
    return "" if ignore is None else f"WHERE key <> {int(ignore)}"


def merge_key_counts(parts: pl.DataFrame, engine: str = "numpy") -> pl.DataFrame:
    """Partial [key, count] tables stacked in one frame -> count-of-counts [count, n_items].

    The same key may appear in several rows (one per partial); its counts are summed first.
    """
    check_engine(engine)
    if parts.is_empty():
        return pl.DataFrame(schema=COUNT_SCHEMA)
    if engine == "numpy":
        keys = parts["key"].to_numpy()
        counts = parts["count"].to_numpy()
        order = np.argsort(keys, kind="stable")
        starts, _ = _run_starts(keys[order])
        return counts_to_count_of_counts(np.add.reduceat(counts[order], starts))
    if engine == "polars":
        summed = parts.group_by("key").agg(pl.col("count").sum())
        return _cc_polars(summed)
    return _duck(
        "SELECT count, count(*) AS n_items FROM "
        "(SELECT sum(count)::BIGINT AS count FROM t GROUP BY key) GROUP BY count ORDER BY count",
        parts.to_arrow(),
        COUNT_SCHEMA,
    )


def add_count_of_counts(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Sum count-of-counts tables of DISJOINT key sets (e.g. hash buckets)."""
    frames = [f for f in frames if not f.is_empty()]
    if not frames:
        return pl.DataFrame(schema=COUNT_SCHEMA)
    stacked = pl.concat(frames)
    return stacked.group_by("count").agg(pl.col("n_items").sum()).sort("count").cast(COUNT_SCHEMA)


def n_observations(cc: pl.DataFrame) -> int:
    """Total observations N = sum(count * n_items) of a count-of-counts table."""
    if cc.is_empty():
        return 0
    return int((cc["count"] * cc["n_items"]).sum())


def _run_starts(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index of each run of equal values in a non-empty sorted array, and the run
    lengths."""
    is_edge = np.empty(sorted_keys.size + 1, dtype=bool)  # run starts, plus the end
    is_edge[0] = is_edge[-1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=is_edge[1:-1])
    edges = np.flatnonzero(is_edge)
    starts, lengths = edges[:-1], np.diff(edges)
    return starts, lengths


def _sorted_run_lengths(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys -> (distinct keys, their counts)."""
    starts, lengths = _run_starts(sorted_keys)
    return sorted_keys[starts], lengths.astype(np.int64)


def counts_to_count_of_counts(counts: np.ndarray) -> pl.DataFrame:
    """Counts per distinct key (zeros allowed and ignored), shape (K,) -> count-of-counts."""
    if counts.size == 0:
        return pl.DataFrame(schema=COUNT_SCHEMA)
    tally = np.bincount(counts)
    tally[0] = 0
    present = np.flatnonzero(tally)
    return pl.DataFrame({"count": present, "n_items": tally[present]}, schema=COUNT_SCHEMA)


def _cc_polars(per_key: pl.DataFrame) -> pl.DataFrame:
    return per_key.group_by("count").agg(pl.len().alias("n_items")).sort("count").cast(COUNT_SCHEMA)


_LOCAL = threading.local()  # one in-memory DuckDB connection per thread (connecting costs ~25 ms)


def _duck(sql: str, table: pa.Table, schema: dict) -> pl.DataFrame:
    con = getattr(_LOCAL, "con", None)
    if con is None:
        con = _LOCAL.con = duckdb.connect()
    con.register("t", table)
    try:
        return pl.from_arrow(con.sql(sql).to_arrow_table()).cast(schema)
    finally:
        con.unregister("t")
