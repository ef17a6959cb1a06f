"""Counting: engines agree with each other and with a hand-written Counter reference; pairs
never cross documents; key packing refuses overflow; streaming equals in-memory counting."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from l2m_analysis.corpus.corpus_counts import count_corpus
from l2m_analysis.corpus.counting import (
    ENGINES,
    MAX_PACKABLE_VOCAB,
    check_key_packing,
    count_of_counts,
    key_counts,
    merge_key_counts,
    pack_pair_keys,
    pairs_at_distance,
    unpack_pair_keys,
)
from l2m_analysis.corpus.series import contiguous_groups, order_block, unpaired
from l2m_analysis.corpus.streaming import StreamingCounter, bucket_of, write_partial_counts
from l2m_analysis.errors import InputError

DISTANCES = (1, 2, 3, 8, 50)


def reference_pairs(docs: list[list[int]], d: int) -> dict[int, int]:
    """Count-of-counts of (w_i, w_{i+d}) inside each document, by hand."""
    pairs = Counter()
    for doc in docs:
        for i in range(len(doc) - d):
            pairs[(doc[i], doc[i + d])] += 1
    return dict(Counter(pairs.values()))


def as_dict(cc: pl.DataFrame) -> dict[int, int]:
    return dict(zip(cc["count"].to_list(), cc["n_items"].to_list(), strict=True))


def flat(docs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    tokens = np.concatenate([np.asarray(d, dtype=np.int64) for d in docs])
    groups = np.concatenate([np.full(len(d), i) for i, d in enumerate(docs)])
    return tokens, groups


@pytest.fixture
def docs() -> list[list[int]]:
    rng = np.random.default_rng(7)
    zipf = np.minimum(rng.zipf(1.3, size=6000), 300) - 1  # heavy head, long tail
    cuts = [0, 1200, 1201, 1240, 4000, 6000]  # includes a 1-token and a 39-token document
    return [zipf[a:b].tolist() for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def test_tiny_hand_example() -> None:
    # doc A = 1 2 1 2, doc B = 1 2: adjacent pairs (1,2) x3, (2,1) x1 -> counts {3: 1, 1: 1}
    tokens, groups = flat([[1, 2, 1, 2], [1, 2]])
    result = count_corpus(tokens, groups, vocab_size=3, distances=(1, 2), shuffle_seed=None)
    assert as_dict(result.pairs.filter(distance=1)) == {3: 1, 1: 1}
    assert as_dict(result.pairs.filter(distance=2)) == {1: 2}  # (1,1) and (2,2) once each
    assert as_dict(result.ngrams.filter(order=1)) == {3: 2}  # tokens 1 and 2, three times each
    assert as_dict(result.ngrams.filter(order=2)) == {3: 1, 1: 1}


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_match_the_counter_reference(docs, engine) -> None:
    tokens, groups = flat(docs)
    result = count_corpus(tokens, groups, 300, DISTANCES, engine=engine, shuffle_seed=None)
    for d in DISTANCES:
        assert as_dict(result.pairs.filter(distance=d)) == reference_pairs(docs, d), d
    assert as_dict(result.ngrams.filter(order=1)) == dict(
        Counter(Counter(tokens.tolist()).values())
    )
    assert as_dict(result.ngrams.filter(order=2)) == reference_pairs(docs, 1)


def test_many_short_documents_match_the_counter_reference() -> None:
    # > 256 documents, some shorter than d: the vectorized boundary mask, not the slice loop
    rng = np.random.default_rng(11)
    docs = [rng.integers(0, 40, size=int(n)).tolist() for n in rng.integers(1, 30, size=400)]
    tokens, groups = flat(docs)
    result = count_corpus(tokens, groups, 40, (1, 2, 8, 16), shuffle_seed=None)
    for d in (1, 2, 8, 16):
        assert as_dict(result.pairs.filter(distance=d)) == reference_pairs(docs, d), d


def test_engines_identical_with_baseline_and_threads(docs) -> None:
    tokens, groups = flat(docs)
    frames = [
        count_corpus(tokens, groups, 300, DISTANCES, engine=e, shuffle_seed=3, threads=t)
        for e in ENGINES
        for t in (1, 2)
    ]
    for other in frames[1:]:
        assert other.pairs.equals(frames[0].pairs)
        assert other.ngrams.equals(frames[0].ngrams)


def test_pairs_never_cross_documents() -> None:
    # two documents of distinct alphabets: any cross-document pair would mix them
    tokens, groups = flat([[0, 1, 2, 3, 0, 1], [10, 11, 12, 13]])
    x, y = pairs_at_distance(tokens, groups, 2)
    assert np.all((x < 10) == (y < 10))
    result = count_corpus(tokens, groups, 14, (1, 2, 5), shuffle_seed=None)
    totals = dict(
        result.pair_totals().filter(~pl.col("shuffled")).select("distance", "n_pairs").iter_rows()
    )
    assert totals == {1: 5 + 3, 2: 4 + 2, 5: 1}


def test_documents_shorter_than_the_distance_give_no_rows() -> None:
    tokens, groups = flat([[1, 2, 3], [4, 5]])
    result = count_corpus(tokens, groups, 6, (1, 4, 100))
    assert sorted(result.pairs["distance"].unique().to_list()) == [1]


def test_key_packing_overflow_and_range() -> None:
    assert check_key_packing(MAX_PACKABLE_VOCAB) == MAX_PACKABLE_VOCAB
    with pytest.raises(InputError, match="overflows the 64-bit pair key"):
        check_key_packing(MAX_PACKABLE_VOCAB + 1)
    with pytest.raises(InputError, match="overflows"):
        count_corpus(np.array([0, 1, 2]), np.zeros(3, np.int64), vocab_size=2**32)
    with pytest.raises(InputError, match="token ids span"):
        pack_pair_keys(np.array([0, 5]), np.array([1, 2]), vocab_size=5)
    keys = pack_pair_keys(np.array([3, 0, 49]), np.array([7, 49, 0]), vocab_size=50)
    x, y = unpack_pair_keys(keys, 50)
    assert x.tolist() == [3, 0, 49] and y.tolist() == [7, 49, 0]
    big = MAX_PACKABLE_VOCAB - 1
    assert pack_pair_keys(np.array([big]), np.array([big]), MAX_PACKABLE_VOCAB)[0] == (
        big * MAX_PACKABLE_VOCAB + big
    )


def test_empty_corpus_is_an_error() -> None:
    with pytest.raises(InputError, match="empty corpus"):
        count_corpus(np.zeros(0, np.int64), np.zeros(0, np.int64), 10)


@pytest.mark.parametrize("engine", ENGINES)
def test_key_counts_merge_and_ignore(engine) -> None:
    keys = np.array([5, 3, 5, 9, 3, 5, 99, 99], dtype=np.int64)
    assert as_dict(count_of_counts(keys, engine, ignore=99)) == {3: 1, 2: 1, 1: 1}
    assert key_counts(keys, engine, ignore=99).to_dicts() == [
        {"key": 3, "count": 2}, {"key": 5, "count": 3}, {"key": 9, "count": 1},
    ]  # fmt: skip
    parts = pl.concat([key_counts(keys[:4], engine), key_counts(keys[4:], engine)])
    assert as_dict(merge_key_counts(parts, engine)) == as_dict(count_of_counts(keys, engine))


def test_baseline_keeps_both_marginals_and_breaks_pairing(docs) -> None:
    tokens, groups = flat(docs)
    result = count_corpus(tokens, groups, 300, (1,), shuffle_seed=0)
    real, base = result.pairs.filter(shuffled=False), result.pairs.filter(shuffled=True)
    assert result.pair_totals()["n_pairs"].n_unique() == 1  # same number of pairs
    assert not real.equals(base)  # pairing changed
    y = np.arange(1000)
    for name in ("shift", "permute"):
        moved = unpaired(y, np.random.default_rng(1), name)
        assert sorted(moved.tolist()) == y.tolist()  # same multiset: Y marginal kept
        assert np.mean(moved == y) < 0.01


def test_groups_break_at_gaps_and_blocks_are_ordered() -> None:
    doc = np.array([0, 0, 0, 0, 1, 1])
    chunk = np.array([0, 0, 1, 1, 0, 0])
    pos = np.array([0, 1, 0, 2, 0, 1])  # doc 0 chunk 1 misses position 1
    assert contiguous_groups(doc, chunk, pos).tolist() == [0, 0, 0, 1, 2, 2]
    order = np.array([5, 2, 0, 4, 1, 3])
    tokens, groups = order_block(doc[order], chunk[order], pos[order], np.arange(6)[order])
    assert tokens.tolist() == [0, 1, 2, 3, 4, 5] and groups.tolist() == [0, 0, 0, 1, 2, 2]


@pytest.mark.parametrize("engine", ENGINES)
def test_streaming_blocks_equal_in_memory_counts(docs, engine, tmp_path) -> None:
    tokens, groups = flat(docs)
    whole = count_corpus(tokens, groups, 300, DISTANCES, shuffle_seed=None)
    counter = StreamingCounter(300, tmp_path / "spill", DISTANCES, engine=engine,
                               shuffle_seed=None, n_buckets=4)  # fmt: skip
    for block in ([0, 1, 2], [3], [4]):  # documents never split across blocks
        rows = np.isin(groups, block)
        counter.add_block(tokens[rows], groups[rows])
    streamed = counter.result()
    assert streamed.pairs.equals(whole.pairs)
    assert streamed.ngrams.equals(whole.ngrams)
    assert not (tmp_path / "spill").exists()


def test_hash_buckets_cover_and_balance() -> None:
    keys = np.arange(100_000, dtype=np.int64) * 50_277
    buckets = bucket_of(keys, 8)
    assert buckets.min() == 0 and buckets.max() == 7
    assert np.bincount(buckets).min() > 100_000 / 8 * 0.9


def test_a_spill_writer_that_dies_leaves_the_old_whole_file_or_none(tmp_path, monkeypatch) -> None:
    """Dask may run a counting task twice, and a worker may die mid-write: a spill file is
    written under a temporary name and renamed, so its path holds one writer's whole data or
    nothing, never a half-written file."""
    path = tmp_path / "pair-000001" / "block-000000.arrow"
    first, second = (np.arange(50_000, dtype=np.int64) * k for k in (2, 3))

    def stored_keys() -> np.ndarray:
        reader = pa.ipc.open_file(str(path))
        batches = [reader.get_batch(b)["key"].to_numpy() for b in range(reader.num_record_batches)]
        return np.sort(np.concatenate(batches))

    real_batch = pa.record_batch
    written = []

    def dies_on_the_third_batch(*args, **kwargs):
        written.append(1)
        if len(written) == 3:
            raise KeyboardInterrupt("the worker died")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(pa, "record_batch", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        write_partial_counts(path, first, np.ones(first.size, np.int64), 4)
    assert not path.parent.exists() or not any(path.parent.iterdir())  # nothing half-written
    monkeypatch.setattr(pa, "record_batch", real_batch)
    write_partial_counts(path, first, np.ones(first.size, np.int64), 4)
    written.clear()
    monkeypatch.setattr(pa, "record_batch", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):  # a second writer of the same block dies
        write_partial_counts(path, second, np.ones(second.size, np.int64), 4)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert np.array_equal(stored_keys(), first)  # the first writer's data, whole
