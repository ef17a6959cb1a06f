"""The scoring interface, the Gaussian oracle, and the resumable scoring driver."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from l2m_analysis.errors import InputError, WarehouseError
from l2m_analysis.gaussian.sampling import GaussianSampleSource
from l2m_analysis.scoring import GaussianOracle, ScoreRequest, ScoringPlan, score_run
from l2m_analysis.warehouse import Warehouse
from pipelines import score_oracle

LAYERS, COPIES = 2, 4  # L = 16


@pytest.fixture
def oracle() -> GaussianOracle:
    return GaussianOracle("subvolume", LAYERS, copies=COPIES)


@pytest.fixture
def source(oracle) -> GaussianSampleSource:
    return GaussianSampleSource(oracle.conditionals.model, seed=11, copies=COPIES)


def next_sample(plan: ScoringPlan) -> np.ndarray:
    """X′ of sample i is sample i + 1 (iid Gaussian samples: any other sample will do)."""
    return (np.arange(plan.n_samples) + 1) % plan.n_samples


def test_score_request_checks_context_against_start_position():
    tokens = np.zeros((16, COPIES))
    ScoreRequest(tokens[:8], tokens[8:], 8)  # split
    assert ScoreRequest(tokens[:0], tokens[8:], 8).is_marginal
    with pytest.raises(InputError, match="start_position"):
        ScoreRequest(tokens[:3], tokens[8:], 8)
    with pytest.raises(InputError, match="continuation"):
        ScoreRequest(tokens[:0], tokens[:0], 0)


def test_oracle_scores_are_exact_log_densities(oracle, source):
    sample, other = source.samples(np.array([0, 1]))
    model = oracle.conditionals.model
    no_split, split, marginal = oracle.score(
        [
            ScoreRequest(sample[:0], sample, 0),
            ScoreRequest(other[:8], sample[8:], 8),
            ScoreRequest(sample[:0], sample[8:], 8),
        ]
    )
    assert no_split.shape == (16,) and split.shape == marginal.shape == (8,)
    # no_split summed over positions = joint log-density summed over copies
    assert no_split.sum() == pytest.approx(model.log_density(sample.T).sum(), rel=1e-12)
    # split = log p(X' ++ Y) − log p(X'); marginal = log p(Y) of positions 8..15
    hybrid = np.concatenate([other[:8], sample[8:]])
    assert split.sum() == pytest.approx(
        model.log_density(hybrid.T).sum() - oracle.conditionals.log_prob(hybrid.T)[:, :8].sum()
    )
    sigma_y = oracle.conditionals.covariance()[8:, 8:]
    quad = np.einsum("ci,ij,cj->", sample[8:].T, np.linalg.inv(sigma_y), sample[8:].T)
    expected = -0.5 * quad - 0.5 * COPIES * (np.linalg.slogdet(2 * np.pi * sigma_y)[1])
    assert marginal.sum() == pytest.approx(expected, rel=1e-10)
    assert oracle.token_ids(ScoreRequest(sample[:0], sample, 0)).tolist() == [-1] * 16


def test_oracle_rejects_tokens_of_the_wrong_width(oracle):
    with pytest.raises(InputError, match="vectors"):
        oracle.score([ScoreRequest(np.zeros((0, 3)), np.zeros((16, 3)), 0)])


def test_driver_writes_every_condition_with_original_positions(tmp_path, oracle, source):
    plan = ScoringPlan(n_samples=5, split_ats=(8, 4), batch_size=2)
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        run_id = wh.start_run("oracle", run_id="t", config=oracle.describe())
        summary = score_run(wh, run_id, oracle, source, plan, next_sample(plan), show_progress=0)
        rows = wh.query("SELECT * FROM token_logprobs WHERE run_id = 't'")
    assert summary.batches_written == 3 * 5 and summary.batches_skipped == 0
    counts = dict(
        rows.group_by("condition", "split_at")
        .len()
        .select(pl.concat_str("condition", "split_at", separator="@"), "len")
        .iter_rows()
    )
    assert counts == {"no_split@0": 80, "split@8": 40, "split@4": 60,
                      "marginal@8": 40, "marginal@4": 60}  # fmt: skip
    split8 = rows.filter((pl.col("condition") == "split") & (pl.col("split_at") == 8))
    assert split8["position"].min() == 8 and split8["position"].max() == 15
    assert (rows["token_id"] == -1).all()


def test_killed_run_resumes_without_duplicates(tmp_path, oracle, source):
    plan = ScoringPlan(n_samples=6, split_ats=(8,), batch_size=2)

    class Crashing(GaussianOracle):
        calls = 0

        def score(self, requests):
            Crashing.calls += 1
            if Crashing.calls == 2:  # one call per batch of samples: the second batch dies
                raise RuntimeError("killed mid-run")
            return super().score(requests)

    crashing = Crashing("subvolume", LAYERS, copies=COPIES)
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        run_id = wh.start_run("oracle", run_id="resumed", config=oracle.describe())
        with pytest.raises(RuntimeError, match="killed"):
            score_run(wh, run_id, crashing, source, plan, next_sample(plan), show_progress=False)
        partial = wh.query("SELECT count(*) AS n FROM token_logprobs")["n"][0]
        assert 0 < partial
        summary = score_run(wh, run_id, oracle, source, plan, next_sample(plan), show_progress=0)
        assert summary.batches_skipped == 3 and summary.batches_written == 6
        resumed = wh.query("SELECT * FROM token_logprobs WHERE run_id = 'resumed'")
        fresh_id = wh.start_run("oracle", run_id="fresh", config=oracle.describe())
        score_run(wh, fresh_id, oracle, source, plan, next_sample(plan), show_progress=False)
        fresh = wh.query("SELECT * FROM token_logprobs WHERE run_id = 'fresh'")
    key = ["sample_id", "condition", "split_at", "position"]
    assert resumed.height == fresh.height == 6 * (16 + 8 + 8)
    assert resumed.select(key).is_duplicated().sum() == 0
    joined = resumed.join(fresh, on=key)
    assert np.allclose(joined["logprob"], joined["logprob_right"], rtol=0, atol=0)


def test_plan_validation():
    with pytest.raises(InputError, match="at least 2 samples"):
        ScoringPlan(n_samples=1, split_ats=(8,)).validate(16)
    with pytest.raises(InputError, match="leave no window"):
        ScoringPlan(n_samples=4, split_ats=(9,)).validate(16)


def test_score_oracle_pipeline_writes_scores_and_exact_rows(tmp_path):
    wh_path = str(tmp_path / "w.duckdb")
    args = ["--warehouse", wh_path, "--layers", "2", "--samples", "4", "--copies", "2"]
    assert score_oracle.main(args) == 0
    assert score_oracle.main(args) == 0  # rerun: resumes, nothing duplicated
    with Warehouse.open(wh_path, create=False) as wh:
        runs = wh.query("SELECT run_id, dataset FROM runs")
        (run_id,) = runs["run_id"].to_list()
        assert runs["dataset"][0] == "gaussian_subvolume_x2"
        n = wh.query("SELECT count(*) AS n FROM token_logprobs")["n"][0]
        exact = wh.query("SELECT * FROM mi_estimates WHERE estimator LIKE 'exact%'")
    assert n == 4 * (16 + 2 * 8 + 2 * 12)  # splits L/2 = 8 and L/4 = 4
    assert set(exact["estimator"]) == {"exact", "exact_vclub"} and exact.height == 8
    with pytest.raises(WarehouseError, match="different config"):
        score_oracle.main([*args, "--run-id", run_id, "--samples", "6"])
