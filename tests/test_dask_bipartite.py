"""Bipartite MI on a real Dask cluster: per-sample sums of token_logprobs, merged with Chan's
parallel mean/variance, equal the SQL's rows (queries/bipartite_mi.sql) to 1e-9 and its
per-sample terms (stg_bipartite_per_sample) exactly; the pipeline writes the same rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from l2m_analysis.cli import run_cli
from l2m_analysis.cluster.bipartite import bipartite_mi_on_dask, bipartite_terms_on_dask
from l2m_analysis.estimators.bipartite import RATIOS, bipartite_mi_sql
from l2m_analysis.scoring import ScoringPlan, score_run
from l2m_analysis.scoring.markov_oracle import MarkovOracle
from l2m_analysis.warehouse import Warehouse
from pipelines import bipartite_mi, count_ngrams
from tests.cluster import local_cluster, markov_windows, write_markov_corpus

pytestmark = pytest.mark.slow  # real clusters of worker processes

SPLITS, LENGTH, SAMPLES = (2, 8, 32), 128, 40


def scored_warehouse(catalog):
    """A Markov corpus, its 2-gram counts, and a run scored by the chain's exact oracle with a
    wrong start (so that the 2-gram correction matters) in batches of 6 samples."""
    transition = write_markov_corpus(catalog, "chain")
    assert run_cli(count_ngrams.main, ["--warehouse", str(catalog), "--run-id", "chain",
                                       "--distances", "1"]) == 0  # fmt: skip
    windows, partners = markov_windows(catalog, "chain", LENGTH, SAMPLES)
    with Warehouse.open(catalog, create=False) as wh:
        start = np.full(transition.shape[0], 0.5 / (transition.shape[0] - 1))
        start[0] = 0.5
        oracle = MarkovOracle(transition, start)
        wh.start_run("llm", run_id="scored", model=oracle.name, dataset="markov",
                     config={"corpus_run_id": "chain"})  # fmt: skip
        plan = ScoringPlan(SAMPLES, SPLITS, batch_size=6)
        score_run(wh, "scored", oracle, windows, plan, partners, show_progress=False)
        wh.finish_run("scored")
    assert run_cli(bipartite_mi.main, ["--warehouse", str(catalog), "--run-id", "scored"]) == 0


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    catalog = tmp_path_factory.mktemp("dask-bp") / "l2m.duckdb"
    scored_warehouse(catalog)
    return catalog


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(2) as (_, client):
        yield client


def inputs(catalog):
    with Warehouse.open(catalog, create=False) as wh:
        files = [str(p) for p, _ in wh.batch_files("token_logprobs", "scored")]
        h = wh.query("SELECT * FROM stg_adjacent_pair_entropy WHERE run_id = 'scored'").row(
            0, named=True
        )
        sql = bipartite_mi_sql(wh.con, "scored")
        terms = wh.query("SELECT * EXCLUDE (run_id) FROM stg_bipartite_per_sample "
                         "WHERE run_id = 'scored'")  # fmt: skip
    windows = tuple((s, r) for s in SPLITS for r in RATIOS)
    return files, windows, h, sql, terms


def test_dask_rows_equal_the_sql_rows(warehouse, cluster) -> None:
    files, windows, h, sql, _ = inputs(warehouse)
    got = bipartite_mi_on_dask(cluster, "scored", files, windows, h["h_2gram"],
                               h["h_2gram_stderr"])  # fmt: skip
    assert set(sql["estimator"]) == {"direct", "direct_uncorrected", "vclub"}
    assert got.columns == sql.columns and got.height == sql.height > 20
    key = ["estimator", "ratio", "split_at"]
    got, sql = got.sort(key), sql.sort(key)
    for column in ("run_id", "estimator", "length", "split_at", "ratio", "n"):
        assert got[column].to_list() == sql[column].to_list(), column
    for column in ("value", "stderr", "stderr_common"):
        a, b = got[column].to_numpy().astype(float), sql[column].to_numpy().astype(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), column
        assert np.nanmax(np.abs(a - b)) < 1e-9, column


def test_dask_terms_are_the_staging_views_terms(warehouse, cluster) -> None:
    files, windows, h, _, terms = inputs(warehouse)
    got = pl.from_pandas(cluster.compute(bipartite_terms_on_dask(
        files, windows, h["h_2gram"], h["h_2gram_stderr"])).result())  # fmt: skip
    key = ["estimator", "ratio", "split_at", "sample_id"]
    got = got.select(terms.columns).sort(key)
    terms = terms.sort(key)
    assert_frame_equal(got.drop("sample_value", "common_stderr"),
                       terms.drop("sample_value", "common_stderr"), check_dtypes=False)  # fmt: skip
    assert np.max(np.abs(got["sample_value"].to_numpy() - terms["sample_value"].to_numpy())) < 1e-9


def test_the_pipeline_on_dask_writes_the_sql_rows(warehouse, tmp_path) -> None:
    def rows():
        with Warehouse.open(warehouse, create=False) as wh:
            return wh.query("SELECT estimator, length, split_at, ratio, value, stderr, n FROM "
                            "mi_estimates WHERE run_id = 'scored' ORDER BY ALL")  # fmt: skip

    before = rows()
    args = ["--warehouse", str(warehouse), "--run-id", "scored", "--scheduler", "dask-local"]
    assert run_cli(bipartite_mi.main, args) == 0
    after = rows()
    assert_frame_equal(after, before, check_exact=False, abs_tol=1e-9, rel_tol=0)
