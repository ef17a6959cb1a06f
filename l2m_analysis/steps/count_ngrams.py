"""The count_ngrams step: count the series of a prepared corpus run not yet committed.

1-grams and adjacent 2-grams go to ``ngram_counts`` (batch ``ngram_batch_key(order)``), pairs d
apart and their shuffle baseline to ``pair_counts`` (``pair_batch_key(d, shuffled)``), one batch
per series, so a rerun counts only the distances still missing. Counting runs in process
(``corpus.block_counting``: one block in memory, or streamed through a spill folder) or on a
Dask cluster (``cluster.counting``); both give identical tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from l2m_analysis.corpus.block_counting import (
    COUNT_STAGE,
    CountOptions,
    CountPlan,
    count_token_files,
    plan_counting,
)
from l2m_analysis.corpus.corpus_counts import CorpusCounts
from l2m_analysis.corpus.counting import check_key_packing
from l2m_analysis.corpus.series import check_distances
from l2m_analysis.errors import WarehouseError
from l2m_analysis.progress import Stages
from l2m_analysis.warehouse import Warehouse

NGRAM_TABLE, PAIR_TABLE = "ngram_counts", "pair_counts"


def ngram_batch_key(order: int) -> str:
    """The ``ngram_counts`` batch of the n-grams of one order."""
    return f"order-{order}"


def pair_batch_key(distance: int, shuffled: bool) -> str:
    """The ``pair_counts`` batch of the pairs d apart (or of their shuffle baseline)."""
    return f"pairs-d{distance:06d}" + ("-baseline" if shuffled else "")


@dataclass(frozen=True)
class CountOutcome:
    """What a call counted: the distances counted now (empty: everything was committed
    already), the tokens and blocks read, and the run's pair totals
    [distance, shuffled, pairs, distinct_pairs]."""

    counted: tuple[int, ...]
    n_tokens: int
    n_blocks: int
    totals: pl.DataFrame


def count_ngrams(
    wh: Warehouse,
    run_id: str,
    distances: tuple[int, ...],
    options: CountOptions,
    *,
    client: Any = None,
    split_out: int | None = None,
    shuffle_method: str = "auto",
    stages: Stages | None = None,
) -> CountOutcome:
    """Count the corpus run's series that are not committed yet (1-grams and 2-grams with
    them), on the Dask cluster of ``client`` if given, and commit them."""
    distances = check_distances(distances)
    wh.require_run(run_id)
    files = token_files(wh, run_id)
    todo = missing_distances(wh, run_id, distances)
    n_tokens, n_blocks = 0, 0
    if todo is not None:
        vocab_size = corpus_vocab_size(wh, run_id)
        series_distances = todo or (1,)  # 1-grams and 2-grams are cheap: always recounted
        plan = plan_counting(files, series_distances, options)
        n_tokens, n_blocks = plan.n_tokens, len(plan.blocks)
        if client is None:
            on_step = progress(stages, plan, plan.merge_steps)
            counts = count_token_files(files, vocab_size, series_distances, options, on_step)
        else:
            from l2m_analysis.cluster.counting import count_token_files_on_dask, merge_buckets

            on_step = progress(stages, plan, merge_buckets(options, plan, split_out))
            counts = count_token_files_on_dask(
                client, files, vocab_size, series_distances, options, split_out=split_out,
                shuffle_method=shuffle_method, on_step=on_step,
            )  # fmt: skip
        write_counts(wh, run_id, counts, todo)
    return CountOutcome(tuple(todo or ()), n_tokens, n_blocks, pair_totals(wh, run_id))


def missing_distances(wh: Warehouse, run_id: str, distances: tuple[int, ...]):
    """Distances whose real or baseline series is not committed; None when every requested
    series (n-grams included) is."""
    done = wh.committed_batches(NGRAM_TABLE, run_id) | wh.committed_batches(PAIR_TABLE, run_id)
    wanted = {ngram_batch_key(o) for o in (1, 2)}
    wanted |= {pair_batch_key(d, s) for d in distances for s in (False, True)}
    if wanted <= done:
        return None
    return tuple(d for d in distances
                 if {pair_batch_key(d, False), pair_batch_key(d, True)} - done)  # fmt: skip


def token_files(wh: Warehouse, run_id: str) -> list[tuple[Path, int]]:
    """The run's committed `tokens` Parquet files in batch order, with their row counts."""
    files = wh.batch_files("tokens", run_id)
    if sum(n for _, n in files) == 0:
        raise WarehouseError(
            f"run {run_id!r} has no tokens (empty corpus or not prepared)",
            f"python -m pipelines.prepare_corpus --run-id {run_id} [--source ...]",
        )
    return [(Path(path), n) for path, n in files]


def corpus_vocab_size(wh: Warehouse, run_id: str) -> int:
    """The tokenizer's vocabulary size from the run config (else max token id + 1)."""
    vocab = wh.run_config(run_id).get("vocab_size")
    if vocab is None:
        vocab = int(wh.query("SELECT max(token_id) + 1 AS v FROM tokens WHERE run_id = ?",
                             [run_id])["v"][0])  # fmt: skip
    return check_key_packing(int(vocab))


def progress(stages: Stages | None, plan: CountPlan, merge_steps: int) -> Callable[[str], None]:
    """``on_step`` for counting: a bar for the count stage, and one for merging that appears
    once every block is counted (``merge_steps`` ticks)."""
    stages = stages or Stages.quiet()
    bars = {
        COUNT_STAGE: stages.add(
            f"counting {plan.n_tokens:,} tokens in {len(plan.blocks)} block(s)", plan.count_steps
        )
    }

    def on_step(stage: str) -> None:
        if stage not in bars:
            bars[stage] = stages.add("merging buckets", merge_steps)
        bars[stage]()

    return on_step


def write_counts(wh: Warehouse, run_id: str, counts: CorpusCounts, distances) -> None:
    """One batch per series (empty when no pair exists at that d, so a rerun knows it was
    counted); committed series are skipped (append_batch returns False)."""
    for order in (1, 2):
        part = counts.ngrams.filter(pl.col("order") == order)
        wh.append_batch(NGRAM_TABLE, run_id, ngram_batch_key(order), part, meta={"order": order})
    for d in distances:
        for shuffled in (False, True):
            part = counts.pairs.filter((pl.col("distance") == d) & (pl.col("shuffled") == shuffled))
            meta = {"distance": d, "shuffled": shuffled}
            wh.append_batch(PAIR_TABLE, run_id, pair_batch_key(d, shuffled), part, meta=meta)


def pair_totals(wh: Warehouse, run_id: str) -> pl.DataFrame:
    """[distance, shuffled, pairs, distinct_pairs] of the run's committed pair counts."""
    return wh.query(
        "SELECT distance, shuffled, sum(count * n_items) AS pairs, sum(n_items) AS distinct_pairs "
        "FROM pair_counts WHERE run_id = ? GROUP BY ALL ORDER BY ALL",
        [run_id],
    )
