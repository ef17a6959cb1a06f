"""The ratios L/ℓ are defined once: a user's ``--ratios 2 5`` flows from scoring (the run's
config) through the bipartite SQL (stg_run_ratios), fit_exponents and the charts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from l2m_analysis import charts
from l2m_analysis.charts.render import chart_spec
from l2m_analysis.cli import run_cli
from l2m_analysis.warehouse import Warehouse
from pipelines import bipartite_mi, fit_exponents, score_oracle

RUN = "oracle-ratios"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ratios") / "l2m.duckdb"
    wh = ["--warehouse", str(path)]
    scored = [*wh, "--run-id", RUN, "--layers", "4", "--samples", "6", "--copies", "1",
              "--splits", "4", "8", "16", "32", "--ratios", "2", "5"]  # fmt: skip
    assert run_cli(score_oracle.main, scored) == 0
    assert run_cli(bipartite_mi.main, [*wh, "--run-id", RUN]) == 0
    assert run_cli(fit_exponents.main, [*wh, "--quantity", "bipartite", "--bootstrap", "20"]) == 0
    return path


def test_scoring_records_the_ratios_and_the_sql_reads_them(warehouse: Path) -> None:
    with Warehouse.open(warehouse, create=False) as wh:
        assert wh.run_config(RUN)["ratios"] == [2, 5]
        ratios = wh.query("SELECT ratio FROM stg_run_ratios WHERE run_id = ?", [RUN])
        assert ratios["ratio"].sort().to_list() == [2, 5]
        est = wh.query("SELECT * FROM mi_estimates WHERE run_id = ? AND estimator = 'vclub'", [RUN])
        fits = wh.query("SELECT * FROM fits WHERE run_id = ? AND law = 'power'", [RUN])
    # ratio 5: L = 5ℓ for ℓ = 4, 8, 16, 32 (160 <= 256); never a 3 or a 4
    assert sorted(set(est["ratio"])) == [2, 5]
    assert sorted(est.filter(ratio=5)["length"]) == [20, 40, 80, 160]
    # the exact rows the oracle wrote use the same ratios, so each estimate has its answer
    with Warehouse.open(warehouse, create=False) as wh:
        exact = wh.query(
            "SELECT * FROM mi_estimates WHERE run_id = ? AND estimator = 'exact'", [RUN]
        )
    assert sorted(set(exact["ratio"])) == [2, 5]
    assert sorted(set(fits["ratio"])) == [2, 5]


def test_the_ratio_chart_draws_the_recorded_ratios(warehouse: Path) -> None:
    with Warehouse.open(warehouse, create=False) as wh:
        estimates = wh.query("SELECT * FROM mi_estimates WHERE run_id = ?", [RUN])
        fits = wh.query("SELECT * FROM fits WHERE run_id = ?", [RUN])
    spec = chart_spec(charts.ratio_chart(estimates, fits, estimator="vclub"))
    assert "L/ℓ = 2, 5" in str(spec["title"])
    series = {r["series"] for d in spec["datasets"].values() for r in d if "series" in r}
    assert any("L/ℓ = 5" in s for s in series) and not any("L/ℓ = 3" in s for s in series)


def test_a_run_without_recorded_ratios_is_refused_with_the_fix(tmp_path: Path, capsys) -> None:
    path = tmp_path / "l2m.duckdb"
    with Warehouse.open(path) as wh:
        wh.start_run("oracle", run_id="old", config={})
        rows = pl.DataFrame({"sample_id": [0, 0], "condition": ["no_split", "marginal"],
                             "split_at": [0, 1], "position": [1, 1], "token_id": [-1, -1],
                             "logprob": [-1.0, -1.5]})  # fmt: skip
        wh.append_batch("token_logprobs", "old", "all", rows)
    assert run_cli(bipartite_mi.main, ["--warehouse", str(path), "--run-id", "old"]) == 2
    err = capsys.readouterr().err
    assert "records no ratios" in err and "--ratios" in err and "Traceback" not in err


def test_scoring_records_its_plan_ratios_and_a_resume_need_not_repeat_them(tmp_path) -> None:
    with Warehouse.open(tmp_path / "l2m.duckdb") as wh:
        wh.start_run("llm", run_id="r", config={"corpus_run_id": "c"})
        wh.append_batch("tokens", "r", "b0", pl.DataFrame({"doc_id": [0], "sample_id": [0],
                        "chunk_index": [0], "position": [0], "token_id": [1]}))  # fmt: skip
        wh.record_in_config("r", "ratios", [2, 5])
        wh.record_in_config("r", "ratios", [2, 5])  # the same fact again: nothing to do
        with pytest.raises(Exception, match="records ratios = \\[2, 5\\], not \\[2, 3, 4\\]"):
            wh.record_in_config("r", "ratios", [2, 3, 4])
        wh.start_run("llm", run_id="r", config={"corpus_run_id": "c"})  # resumed, data kept
        assert wh.run_config("r") == {"corpus_run_id": "c", "ratios": [2, 5]}
