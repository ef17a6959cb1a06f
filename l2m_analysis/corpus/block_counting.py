"""Count a prepared corpus stored as `tokens` Parquet files, block by block.

Input: the run's Parquet files in batch order with their row counts (each file holds whole
documents; columns doc_id, chunk_index, position, token_id). Consecutive files are grouped into
blocks of at most ``block_tokens`` rows (``plan_blocks``; a larger file is a block alone, files
are never split). A corpus that fits one block is counted in memory (``corpus_counts``); a larger
one streams block by block through ``streaming.StreamingCounter``, whose hash-bucketed partial
counts go to ``spill_dir`` and are removed afterwards. Either way the result is one
``CorpusCounts``, identical for the real series (the shuffle baseline is re-paired per block).

Progress: ``on_step(stage)`` is called once per series of each block (stage "count", in all
``CountPlan.count_steps`` times) and, for a streamed corpus, once per merged series (stage
"merge", ``CountPlan.merge_steps`` times).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from l2m_analysis.corpus.corpus_counts import CorpusCounts, count_corpus
from l2m_analysis.corpus.series import check_distances, order_block, series_list
from l2m_analysis.corpus.streaming import StreamingCounter
from l2m_analysis.errors import InputError

TOKEN_COLUMNS = ["doc_id", "chunk_index", "position", "token_id"]
COUNT_STAGE, MERGE_STAGE = "count", "merge"


@dataclass(frozen=True)
class CountOptions:
    """How to count. engine: numpy | polars | duckdb; baseline: shift | permute, seeded by
    ``seed`` (None: no baseline series); block_tokens: rows counted in memory at once
    (≈ 100 bytes each); buckets: hash buckets of the spilled partial counts; spill_dir: scratch
    folder of a multi-block corpus (None: a temporary folder); both removed when done."""

    engine: str = "numpy"
    baseline: str = "shift"
    seed: int | None = 0
    block_tokens: int = 10_000_000
    buckets: int = 16
    spill_dir: Path | None = None
    threads: int | None = None


@dataclass(frozen=True)
class CountPlan:
    """Blocks (lists of file indices) and the number of progress steps of each stage."""

    blocks: list[list[int]]
    n_tokens: int
    n_series: int

    @property
    def streamed(self) -> bool:
        return len(self.blocks) > 1

    @property
    def count_steps(self) -> int:
        return self.n_series * len(self.blocks)

    @property
    def merge_steps(self) -> int:
        return self.n_series if self.streamed else 0


def plan_blocks(sizes: Sequence[int], block_tokens: int) -> list[list[int]]:
    """Group consecutive files (indices) into blocks of <= block_tokens rows; a file larger
    than that is a block on its own (files hold whole documents and are never split)."""
    if block_tokens < 1:
        raise InputError(f"block_tokens must be >= 1, got {block_tokens}", "use e.g. 10000000")
    blocks: list[list[int]] = []
    size = 0
    for i, n in enumerate(sizes):
        if blocks and size + n <= block_tokens:
            blocks[-1].append(i)
            size += n
        else:
            blocks.append([i])
            size = n
    return blocks


def plan_counting(
    files: Sequence[tuple[Path, int]], distances: Sequence[int], options: CountOptions
) -> CountPlan:
    """The blocks and step counts that ``count_token_files`` will go through."""
    series = series_list(check_distances(distances), with_baseline=options.seed is not None)
    sizes = [n for _, n in files]
    return CountPlan(plan_blocks(sizes, options.block_tokens), sum(sizes), len(series))


def read_block(paths: Sequence[str | Path]) -> tuple[np.ndarray, np.ndarray]:
    """The ``tokens`` files of one block -> (token_ids, group_ids), shape (N,) each, ordered by
    group then position (``series.order_block``)."""
    table = pa.concat_tables([pq.read_table(path, columns=TOKEN_COLUMNS) for path in paths])
    table = table.combine_chunks()  # one copy into contiguous columns
    cols = {c: table.column(c).to_numpy() for c in TOKEN_COLUMNS}
    del table  # do not hold the raw columns while the block is counted
    return order_block(cols["doc_id"], cols["chunk_index"], cols["position"], cols["token_id"])


def check_whole_documents(files: Sequence[Path | str], blocks: Sequence[Sequence[int]]) -> None:
    """Refuse a plan in which a document's tokens lie in two blocks (its pairs across blocks
    would be lost). Reads each file's doc_id range from its Parquet statistics (or the column)."""
    spans = []
    for b, block in enumerate(blocks):
        for i in block:
            low, high = _doc_range(files[i])
            if high >= low:
                spans.append((low, high, b))
    spans.sort()
    reach_high, reach_block = None, None  # the span reaching furthest so far, and its block
    for low, high, b in spans:
        if reach_high is not None and low <= reach_high and b != reach_block:
            raise InputError(
                f"documents around doc_id {low} are split across token batches of different "
                "counting blocks",
                "prepare the corpus again with prepare_corpus (it writes whole documents)",
            )
        if reach_high is None or high > reach_high:
            reach_high, reach_block = high, b


def _doc_range(path: Path | str) -> tuple[int, int]:
    """(min, max) doc_id of one ``tokens`` file; (0, -1) when it is empty."""
    meta = pq.ParquetFile(path).metadata
    column = meta.schema.names.index("doc_id")
    lows, highs = [], []
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(column).statistics
        if meta.row_group(g).num_rows == 0:
            continue
        if stats is None or not stats.has_min_max:
            ids = pq.read_table(path, columns=["doc_id"]).column("doc_id").to_numpy()
            return (int(ids.min()), int(ids.max())) if ids.size else (0, -1)
        lows.append(int(stats.min))
        highs.append(int(stats.max))
    return (min(lows), max(highs)) if lows else (0, -1)


def iter_blocks(
    files: Sequence[Path], blocks: Sequence[Sequence[int]]
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(token_ids, group_ids), shape (N,) each, of every planned block (``read_block``)."""
    check_whole_documents(files, blocks)
    for block in blocks:
        yield read_block([files[i] for i in block])


def count_token_files(
    files: Sequence[tuple[Path, int]],
    vocab_size: int,
    distances: Sequence[int],
    options: CountOptions = CountOptions(),
    on_step: Callable[[str], None] | None = None,
) -> CorpusCounts:
    """Count 1-grams, 2-grams and pairs at ``distances`` (with the baseline unless
    options.seed is None) of the Parquet ``files`` [(path, rows)], in memory when they fit
    one block of options.block_tokens rows, else streamed through options.spill_dir."""
    if sum(n for _, n in files) == 0:
        raise InputError("no tokens to count (empty corpus)", "prepare a corpus with tokens first")
    plan = plan_counting(files, distances, options)
    paths = [path for path, _ in files]
    step = on_step or (lambda _stage: None)
    common = dict(engine=options.engine, shuffle_seed=options.seed, baseline=options.baseline,
                  threads=options.threads)  # fmt: skip
    if not plan.streamed:
        token_ids, group_ids = next(iter_blocks(paths, plan.blocks))
        return count_corpus(token_ids, group_ids, vocab_size, distances, **common,
                            on_series=lambda _: step(COUNT_STAGE))  # fmt: skip
    scratch = None if options.spill_dir else tempfile.mkdtemp(prefix="l2m-spill-")
    spill = Path(options.spill_dir or scratch)
    try:
        counter = StreamingCounter(vocab_size, spill, distances, n_buckets=options.buckets,
                                   **common)  # fmt: skip
        for token_ids, group_ids in iter_blocks(paths, plan.blocks):
            counter.add_block(token_ids, group_ids, on_series=lambda _: step(COUNT_STAGE))
        return counter.result(on_series=lambda _: step(MERGE_STAGE))
    finally:
        shutil.rmtree(spill, ignore_errors=True)
