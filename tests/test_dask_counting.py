"""Counting on a real Dask cluster (a LocalCluster of two worker processes) gives the very
tables in-process counting gives — real pairs and the shuffle baseline, one block or many —
with tasks on both workers, even when a worker dies in the middle of a count."""

from __future__ import annotations

import functools
import os
from collections import Counter

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from l2m_analysis.cli import run_cli
from l2m_analysis.cluster.counting import count_token_files_on_dask, merge_buckets
from l2m_analysis.corpus.block_counting import CountOptions, count_token_files, plan_counting
from l2m_analysis.warehouse import Warehouse
from pipelines import count_ngrams
from tests.cluster import create_once, local_cluster, worker_pids, write_markov_corpus

pytestmark = pytest.mark.slow  # real clusters of worker processes

DISTANCES = (1, 2, 8, 64, 512)
V = 30


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    catalog = tmp_path_factory.mktemp("dask-count") / "l2m.duckdb"
    write_markov_corpus(catalog, "chain")
    with Warehouse.open(catalog, create=False) as wh:
        files = wh.batch_files("tokens", "chain")
    return catalog, files


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(2) as (cluster, client):
        yield client


def test_dask_counts_equal_in_process_counts_and_use_both_workers(
    corpus, cluster, tmp_path
) -> None:
    from distributed import get_task_stream

    _, files = corpus
    n_tokens = sum(n for _, n in files)
    plans = [(n_tokens, "auto"), (n_tokens // 4, "auto"), (n_tokens // 4, "tasks"),
             (n_tokens // 4, "p2p"), (n_tokens, "tasks")]  # fmt: skip
    for block_tokens, method in plans:  # one block or streamed blocks; every way to shuffle
        spill = tmp_path / f"spill-{method}-{block_tokens}"
        options = CountOptions(block_tokens=block_tokens, seed=3, spill_dir=spill)
        local = count_token_files(files, V, DISTANCES, options)
        steps: Counter[str] = Counter()
        tick = functools.partial(count_stage, steps)
        with get_task_stream(cluster) as stream:
            remote = count_token_files_on_dask(cluster, files, V, DISTANCES, options,
                                               shuffle_method=method, on_step=tick)  # fmt: skip
        plan = plan_counting(files, DISTANCES, options)
        assert steps["count"] == plan.count_steps  # a tick per (block, series), as in process
        assert_frame_equal(remote.ngrams, local.ngrams)
        assert_frame_equal(remote.pairs, local.pairs)  # baseline included
        assert remote.pairs.filter(pl.col("shuffled")).height > 0
        assert remote.n_tokens == local.n_tokens == n_tokens
        keys = [str(t["key"]) for t in stream.data]
        counted_on = {t["worker"] for t in stream.data if "count-block" in str(t["key"])}
        assert len(counted_on) == 2, counted_on
        if method == "auto":  # numpy hash buckets through the scratch folder, then removed
            assert any("merge-bucket" in k for k in keys) and not spill.exists()
            assert steps["merge"] == merge_buckets(options, plan, None)  # a tick per bucket
        else:  # a Dask DataFrame shuffle, skipped when one block holds every key
            assert any("shuffle" in k for k in keys) == (block_tokens < n_tokens)


def count_stage(steps: Counter[str], stage: str) -> None:
    steps[stage] += 1


def test_the_baseline_depends_on_the_block_plan_not_on_the_scheduler(corpus, cluster) -> None:
    """Seeds are (seed, distance, block): another seed changes the baseline, a rerun does not."""
    _, files = corpus
    options = CountOptions(block_tokens=sum(n for _, n in files) // 3, seed=3)
    first = count_token_files_on_dask(cluster, files, V, (8,), options)
    again = count_token_files_on_dask(cluster, files, V, (8,), options, split_out=3)
    other = count_token_files_on_dask(cluster, files, V, (8,), CountOptions(
        block_tokens=options.block_tokens, seed=4))  # fmt: skip
    base = pl.col("shuffled")
    assert_frame_equal(first.pairs, again.pairs)
    assert not first.pairs.filter(base).equals(other.pairs.filter(base))
    assert_frame_equal(first.pairs.filter(~base), other.pairs.filter(~base))


def _die_once_in_block_one(marker: str) -> None:
    """On a worker: the next count task of block 1 ends the worker process, once."""
    import l2m_analysis.cluster.counting_disk as counting

    real = counting.spill_block_series

    def dying(block, task, *args):
        if task.block_index == 1 and create_once(marker):
            os._exit(1)
        return real(block, task, *args)

    counting.spill_block_series = dying


def test_a_worker_that_dies_mid_count_changes_no_number(corpus, tmp_path) -> None:
    _, files = corpus
    options = CountOptions(block_tokens=sum(n for _, n in files) // 4)
    local = count_token_files(files, V, DISTANCES, options)
    marker = tmp_path / "died"
    with local_cluster(2) as (_, client):
        before = set(worker_pids(client).values())
        client.run(_die_once_in_block_one, str(marker))
        remote = count_token_files_on_dask(client, files, V, DISTANCES, options)
        client.wait_for_workers(2, timeout=60)
        after = set(worker_pids(client).values())
    assert marker.exists()  # a task really killed its worker
    assert before != after  # ... and the nanny started a new one
    assert_frame_equal(remote.pairs, local.pairs)
    assert_frame_equal(remote.ngrams, local.ngrams)


def table(catalog, name: str) -> pl.DataFrame:
    with Warehouse.open(catalog, create=False) as wh:
        return wh.query(f"SELECT * EXCLUDE (run_id) FROM {name} ORDER BY ALL")


def test_the_pipeline_on_dask_local_writes_the_local_tables(corpus, tmp_path) -> None:
    catalog, _ = corpus
    twin = tmp_path / "twin.duckdb"
    write_markov_corpus(twin, "chain")  # the same seed: the same corpus
    args = ["--run-id", "chain", "--distances", "1", "4", "256", "--block-tokens", "20000"]
    assert run_cli(count_ngrams.main, ["--warehouse", str(catalog), *args]) == 0
    assert run_cli(count_ngrams.main, ["--warehouse", str(twin), *args, "--scheduler",
                                       "dask-local", "--workers", "2"]) == 0  # fmt: skip
    for name in ("ngram_counts", "pair_counts"):
        assert_frame_equal(table(twin, name), table(catalog, name))
