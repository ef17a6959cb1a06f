"""Counting `tokens` Parquet files block by block (corpus/block_counting.py): the block plan,
in-memory == streamed counts, progress steps, scratch removal, documents split across files."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from l2m_analysis.corpus.block_counting import (
    COUNT_STAGE,
    MERGE_STAGE,
    CountOptions,
    count_token_files,
    iter_blocks,
    plan_blocks,
    plan_counting,
)
from l2m_analysis.corpus.corpus_counts import count_corpus
from l2m_analysis.errors import InputError

DISTANCES = (1, 3, 40)


def write_files(tmp_path, docs_per_file: list[list[np.ndarray]]) -> list[tuple]:
    """One Parquet file per inner list, each doc in two samples (chunk 0 and 1), rows shuffled."""
    files, doc_id = [], 0
    rng = np.random.default_rng(0)
    for f, docs in enumerate(docs_per_file):
        frames = []
        for tokens in docs:
            half = len(tokens) // 2
            frames.append(pl.DataFrame({
                "doc_id": np.full(len(tokens), doc_id),
                "chunk_index": np.repeat([0, 1], [half, len(tokens) - half]).astype(np.int32),
                "position": np.r_[np.arange(half), np.arange(len(tokens) - half)].astype(np.int32),
                "token_id": tokens,
            }))  # fmt: skip
            doc_id += 1
        frame = pl.concat(frames)
        frame = frame[rng.permutation(frame.height)]  # order_block must restore the order
        path = tmp_path / f"batch-{f}.parquet"
        frame.write_parquet(path)
        files.append((path, frame.height))
    return files


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(3)
    lengths = [[300, 5], [700], [50, 60, 2], [400]]
    docs = [[rng.integers(0, 30, n) for n in per_file] for per_file in lengths]
    flat = [d for per_file in docs for d in per_file]
    tokens = np.concatenate(flat)
    groups = np.repeat(np.arange(len(flat)), [len(d) for d in flat])
    return write_files(tmp_path, docs), tokens, groups


def test_plan_blocks_groups_whole_files() -> None:
    assert plan_blocks([5, 5, 5], 10) == [[0, 1], [2]]
    assert plan_blocks([3, 20, 3, 3], 10) == [[0], [1], [2, 3]]  # a big file is a block alone
    assert plan_blocks([4, 4], 8) == [[0, 1]]
    assert plan_blocks([], 10) == []
    with pytest.raises(InputError, match="block_tokens must be >= 1"):
        plan_blocks([1], 0)


def test_in_memory_and_streamed_equal_counting_the_arrays(corpus, tmp_path) -> None:
    files, tokens, groups = corpus
    reference = count_corpus(tokens, groups, 30, DISTANCES, shuffle_seed=None)
    for engine in ("numpy", "duckdb"):
        whole = CountOptions(engine=engine, seed=None)
        streamed = CountOptions(engine=engine, seed=None, block_tokens=1010, buckets=3,
                                spill_dir=tmp_path / "spill")  # fmt: skip
        assert not plan_counting(files, DISTANCES, whole).streamed
        assert plan_counting(files, DISTANCES, streamed).blocks == [[0, 1], [2, 3]]
        for options in (whole, streamed):
            counts = count_token_files(files, 30, DISTANCES, options)
            assert counts.pairs.equals(reference.pairs), (engine, options.block_tokens)
            assert counts.ngrams.equals(reference.ngrams)
            assert counts.n_tokens == tokens.size
        assert not (tmp_path / "spill").exists()  # scratch removed


def test_progress_steps_match_the_plan(corpus) -> None:
    files, *_ = corpus
    for options in (CountOptions(), CountOptions(block_tokens=400, buckets=2)):  # temp spill
        plan = plan_counting(files, DISTANCES, options)
        steps: list[str] = []
        count_token_files(files, 30, DISTANCES, options, on_step=steps.append)
        assert plan.n_series == 2 + 2 * len(DISTANCES)  # with the baseline (seed 0)
        assert steps.count(COUNT_STAGE) == plan.count_steps
        assert steps.count(MERGE_STAGE) == plan.merge_steps
    assert plan.streamed and len(plan.blocks) == 4 and plan.merge_steps == plan.n_series


def test_a_document_split_across_files_is_refused(tmp_path) -> None:
    files = write_files(tmp_path, [[np.arange(10)], [np.arange(6)]])
    second = pl.read_parquet(files[1][0]).with_columns(doc_id=pl.lit(0, pl.Int64))  # doc 0 again
    second.write_parquet(files[1][0])
    with pytest.raises(InputError, match="split across token batches"):
        list(iter_blocks([p for p, _ in files], [[0], [1]]))
    with pytest.raises(InputError, match="split across token batches"):
        count_token_files(files, 10, (1,), CountOptions(block_tokens=10))


def test_no_tokens_is_an_error(tmp_path) -> None:
    with pytest.raises(InputError, match="empty corpus"):
        count_token_files([], 10, (1,))
    with pytest.raises(InputError, match="empty corpus"):
        count_token_files([(tmp_path / "none.parquet", 0)], 10, (1,))
