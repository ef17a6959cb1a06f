"""What a two-point MI sweep counts: one array of integer keys per series.

Series (each later reduced to count-of-counts, the layout of ``ngram_counts``/``pair_counts``):

* ``("ngram", 1, False)``  single tokens (Ĥ(X) = Ĥ(Y), Eq. 8);
* ``("ngram", 2, False)``  adjacent pairs (the 2-gram correction, Eq. A.14);
* ``("pair", d, False)``   pairs d apart inside one group (Ĥ(XY_d), Eq. A.16);
* ``("pair", d, True)``    the shuffle baseline: the same X and Y tokens with the pairing
  destroyed and both marginals kept exactly. ``baseline="shift"`` (default) rotates the Y stream
  of the whole block by a seeded offset between n/4 and 3n/4 (n = pairs), so each X meets a Y
  from far away (another document) while the Y stream keeps its serial correlation: its
  Grassberger bias is the one the real pairs carry at large d. ``baseline="permute"`` applies a
  seeded random permutation instead; it also breaks the serial correlation of consecutive
  pairs, so on bursty or sticky sources it sits BELOW the real bias floor
  (tests/test_markov_two_point.py shows both).

For speed, token ids are first remapped to a dense range 0..K-1 (K = distinct tokens in the
block); when K < 65,536 a pair key fits 32 bits, which halves the bytes each sort moves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l2m_analysis.corpus.counting import (
    check_key_packing,
    check_token_ids,
    pairs_at_distance,
    sentinel_of,
)
from l2m_analysis.errors import InputError

DEFAULT_DISTANCES: tuple[int, ...] = tuple(2**k for k in range(14))  # 1, 2, 4, ..., 8192
BASELINES = ("shift", "permute")
SeriesKey = tuple[str, int, bool]  # (kind "ngram"|"pair", order or distance, shuffled)
UNIGRAM: SeriesKey = ("ngram", 1, False)
BIGRAM: SeriesKey = ("ngram", 2, False)


@dataclass(frozen=True)
class CompactTokens:
    """Token ids of a block remapped to 0..K-1. codes: shape (N,); distinct: shape (K,)."""

    codes: np.ndarray
    distinct: np.ndarray

    @classmethod
    def of(cls, token_ids: np.ndarray, vocab_size: int) -> CompactTokens:
        check_key_packing(vocab_size)
        check_token_ids(token_ids, vocab_size)
        if vocab_size <= 1 << 24:  # a lookup table of V entries beats a sort
            distinct = np.flatnonzero(np.bincount(token_ids, minlength=vocab_size))
            lut = np.zeros(vocab_size, dtype=np.int64)
            lut[distinct] = np.arange(distinct.size)
            codes = lut[token_ids]
        else:
            distinct, codes = np.unique(token_ids, return_inverse=True)
        dtype = np.uint32 if distinct.size < 1 << 16 else np.int64  # K^2 - 1 < 2^32 - 1
        return cls(codes.astype(dtype), distinct.astype(np.int64))

    @property
    def size(self) -> int:
        return int(self.distinct.size)

    @property
    def sentinel(self) -> int:
        """A key no real pair has (the dtype's maximum, > K^2 − 1): marks skipped pairs."""
        return sentinel_of(self.codes.dtype)

    def pack(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Compact codes -> compact pair keys x * K + y (uint32 when K < 65,536)."""
        return x * x.dtype.type(self.size) + y

    def to_global(self, keys: np.ndarray, *, pair: bool, vocab_size: int) -> np.ndarray:
        """Compact keys -> the corpus-wide int64 keys (token id, or x * V + y for pairs)."""
        keys = keys.astype(np.int64)
        if not pair:
            return self.distinct[keys]
        return self.distinct[keys // self.size] * vocab_size + self.distinct[keys % self.size]


def contiguous_groups(
    doc_id: np.ndarray, chunk_index: np.ndarray, position: np.ndarray
) -> np.ndarray:
    """Group id per token (shape (N,)) for rows sorted by (doc_id, chunk_index, position).

    A group is a maximal gap-free run of one document: a new group starts at a new document and
    wherever the next token is not the next position (a missing sample or token), so pairs
    never bridge a gap.
    """
    if doc_id.size == 0:
        return np.zeros(0, dtype=np.int64)
    same_doc = doc_id[1:] == doc_id[:-1]
    next_in_sample = (chunk_index[1:] == chunk_index[:-1]) & (position[1:] == position[:-1] + 1)
    next_sample = (chunk_index[1:] == chunk_index[:-1] + 1) & (position[1:] == 0)
    breaks = ~(same_doc & (next_in_sample | next_sample))
    return np.concatenate(([0], np.cumsum(breaks))).astype(np.int64)


def order_block(
    doc_id: np.ndarray, chunk_index: np.ndarray, position: np.ndarray, token_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``tokens`` columns of whole documents, any row order -> (token_ids, group_ids), shape
    (N,) each, ordered by (doc_id, chunk_index, position), ready for ``count_corpus``."""
    later_doc = doc_id[1:] > doc_id[:-1]
    later_chunk = chunk_index[1:] > chunk_index[:-1]
    same_chunk = chunk_index[1:] == chunk_index[:-1]
    in_order = (
        np.all(later_doc | (doc_id[1:] == doc_id[:-1]))
        and np.all(later_doc | later_chunk | same_chunk)
        and np.all(later_doc | later_chunk | (position[1:] > position[:-1]))
    )
    if not in_order:  # producers write in order; sort only when needed
        order = np.lexsort((position, chunk_index, doc_id))
        doc_id, chunk_index, position, token_id = (
            a[order] for a in (doc_id, chunk_index, position, token_id)
        )
    return np.asarray(token_id, np.int64), contiguous_groups(doc_id, chunk_index, position)


def check_distances(distances) -> tuple[int, ...]:
    out = tuple(sorted({int(d) for d in distances}))
    if not out or out[0] < 1:
        raise InputError(f"distances must be positive integers, got {distances}", "e.g. 1 2 4 8")
    return out


def check_baseline(baseline: str) -> str:
    if baseline not in BASELINES:
        raise InputError(f"unknown baseline {baseline!r}", f"use one of {', '.join(BASELINES)}")
    return baseline


def series_list(distances: tuple[int, ...], with_baseline: bool) -> list[SeriesKey]:
    """Every series of a sweep, in the order they are counted and reported."""
    out = [UNIGRAM, BIGRAM]
    for d in distances:
        out.append(("pair", d, False))
        if with_baseline:
            out.append(("pair", d, True))
    return out


def series_keys(
    series: SeriesKey,
    compact: CompactTokens,
    group_ids: np.ndarray,
    *,
    shuffle_seed: int = 0,
    baseline: str = "shift",
    block_index: int = 0,
) -> np.ndarray:
    """Compact keys of one series, shape (n,). Pair series hold ``compact.sentinel`` where a
    pair would cross a group boundary. The baseline of distance d is seeded with
    (shuffle_seed, d, block_index), so a rerun gives identical counts."""
    kind, value, shuffled = series
    if series == UNIGRAM:
        return compact.codes
    distance = 1 if series == BIGRAM else value
    if not shuffled:
        return masked_pair_keys(compact, group_ids, distance)
    rng = np.random.default_rng([shuffle_seed, distance, block_index])
    x, y = pairs_at_distance(compact.codes, group_ids, distance)
    return compact.pack(x, unpaired(y, rng, baseline))


def masked_pair_keys(compact: CompactTokens, group_ids: np.ndarray, distance: int) -> np.ndarray:
    """Compact keys of ALL N − d pairs (w_i, w_{i+d}), shape (N − d,); a pair that crosses a
    group boundary holds ``compact.sentinel`` instead (cheaper than compressing the arrays:
    the sort puts the sentinels last, where they are sliced off)."""
    codes = compact.codes
    if distance >= codes.size:
        return codes[:0]
    keys = np.multiply(codes[:-distance], codes.dtype.type(compact.size))
    keys += codes[distance:]
    starts = np.flatnonzero(group_ids[1:] != group_ids[:-1]) + 1
    if starts.size > 256:  # many short groups: one vectorized mask
        return np.where(group_ids[:-distance] == group_ids[distance:], keys, compact.sentinel)
    for start in starts:  # groups are contiguous: keys[b-d:b] cross the boundary at b
        keys[max(start - distance, 0) : start] = compact.sentinel
    return keys


def unpaired(y: np.ndarray, rng: np.random.Generator, baseline: str = "shift") -> np.ndarray:
    """The Y side of the pairs, shape (n,), re-ordered so it no longer pairs with X."""
    n = y.size
    if baseline == "permute":
        return rng.permutation(y)
    if n < 2:
        return y
    return np.roll(y, int(rng.integers(n // 4, 3 * n // 4 + 1)) or 1)
