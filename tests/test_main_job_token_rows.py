"""The main job's trained models, end to end: every per-position curve the report draws for them
comes from their token rows (the named queries equal the Python aggregation of the models' own
per-sample metrics, recomputed here from their checkpoints, to 1e-9), and the books are scored
with each trained text model as q, beside SmolLM2, in the warehouse and in the report."""

from __future__ import annotations

import pytest

from l2m_analysis.warehouse import Warehouse
from pipelines import run_all
from tests.reference import evaluation_averages, evaluation_position_table
from tests.test_evaluate import assert_curves_match, python_path

TRAINED = [*run_all.GAUSSIAN_RUNS.values(), *run_all.TEXT_RUNS.values()]


@pytest.mark.slow
@pytest.mark.parametrize("train_run", TRAINED)
def test_the_report_queries_equal_the_python_path(main_job, one_torch_thread, train_run) -> None:
    with Warehouse.open(main_job.catalog, create=False) as wh:
        n = wh.run_config(f"eval-{train_run}")["n_samples"]
        curves = wh.query_file("training_position_curves", {"run_id": f"eval-{train_run}"})
        average = wh.query_file("average_metrics", {"run_id": f"eval-{train_run}"}).row(
            0, named=True
        )
        rows = wh.query("SELECT count(*) AS n FROM token_logprobs WHERE run_id = ?",
                        [f"eval-{train_run}"])["n"][0]  # fmt: skip
    metrics = python_path(main_job.catalog, train_run, n)
    assert rows == metrics["nll"].size  # one row per (sample, position)
    table = evaluation_position_table(metrics)
    assert_curves_match(curves, table, ["kl", "kl_stderr", "nll", "nll_stderr", "n"])
    averages = evaluation_averages(metrics)
    assert abs(average["avg_nll"] - averages["nll"]) <= 1e-9
    if "kl" in metrics:
        assert abs(average["avg_kl"] - averages["kl"]) <= 1e-9
        assert abs(average["avg_kl_stderr"] - averages["kl_stderr"]) <= 1e-9


@pytest.mark.slow
def test_the_books_are_scored_with_each_trained_text_model_as_q(main_job) -> None:
    with Warehouse.open(main_job.catalog, create=False) as wh:
        frame = wh.query_file("trained_q_bipartite_mi")
    trained = frame.filter(q_kind="trained")
    assert set(trained["q"]) == set(run_all.TEXT_RUNS.values())
    assert set(trained["arch"]) == {"gpt2", "mamba", "mamba2"}
    assert set(frame.filter(q_kind="pretrained")["q"]) == {"smollm2-135m-instruct"}
    # each at L = 4 .. 32 (its training length), 32 held-out samples, every estimator
    vclub = trained.filter(estimator="vclub", ratio=2)
    assert sorted(set(vclub["length"])) == [4, 8, 16, 32] and set(vclub["n"]) == {32}
    html = main_job.report.read_text()
    for title in (
        "Bipartite MI with each trained architecture as q",
        "Position-wise KL of trained models",
        "Position-wise NLL of models trained",
    ):
        assert title in html, title  # fmt: skip
