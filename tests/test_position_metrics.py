"""Per-position NLL and KL (Eqs. E.36-E.39): queries/position_*.sql against hand-computed tables.

Model run "q" (config names reference "p") and reference run "p" scored the same three samples
of four tokens; sample 2 of "q" is one token short. Run "u" has no reference.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import pipelines.position_metrics as position_pipeline
from l2m_analysis.cli import run_cli
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.position import average_metrics_sql, position_kl_sql, position_nll_sql
from l2m_analysis.warehouse import Warehouse, schema
from l2m_analysis.warehouse.memory import frames_connection
from tests.reference import average_over_positions, position_kl_polars, position_nll_polars

QUERIES = Path(__file__).resolve().parents[1] / "queries"
# run -> sample_id -> log-probs at positions 0, 1, 2, ...
LOGPROBS = {
    "q": {0: [-1.0, -2.0, -1.0, -3.0], 1: [-2.0, -1.0, -2.0, -1.0], 2: [-3.0, -1.0, -1.0]},
    "p": {0: [-0.5, -1.5, -1.0, -2.0], 1: [-1.0, -1.0, -1.5, -0.5], 2: [-2.0, -1.0, -0.5, -1.0]},
    "u": {0: [-2.0, -4.0]},
}
CONFIGS = {"q": {"reference_run_id": "p", "lr": 0.1}, "p": {}, "u": {"lr": 0.2}}


def token_rows(logprobs: dict, token_of=lambda pair, pos: 10 * pair + pos) -> pl.DataFrame:
    rows = [
        (run, pair, "no_split", 0, pos, token_of(pair, pos), lp)
        for run, pairs in logprobs.items()
        for pair, values in pairs.items()
        for pos, lp in enumerate(values)
    ]
    return pl.DataFrame(rows, schema=schema.BULK_TABLES["token_logprobs"].names, orient="row").cast(
        {"split_at": pl.Int32, "position": pl.Int32}
    )


def connect(tokens: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    runs = pl.DataFrame(
        [(run, "planted", f"model-{run}", json.dumps(config), "complete")
         for run, config in CONFIGS.items()],
        schema=["run_id", "kind", "model", "config", "status"], orient="row",
    )  # fmt: skip
    return frames_connection({"runs": runs, "token_logprobs": tokens})


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return connect(token_rows(LOGPROBS))


def test_position_nll_by_hand(con) -> None:
    got = position_nll_sql(con, "q")
    # Eq. (E.38): −mean over samples at each position
    assert got["nll"].to_list() == pytest.approx(
        [(1 + 2 + 3) / 3, (2 + 1 + 1) / 3, (1 + 2 + 1) / 3, (3 + 1) / 2]
    )
    assert got["n"].to_list() == [3, 3, 3, 2]
    assert got["nll_stderr"][0] == pytest.approx(statistics.stdev([1, 2, 3]) / math.sqrt(3))
    assert got["nll_stderr"][3] == pytest.approx(statistics.stdev([3, 1]) / math.sqrt(2))
    assert set(got["seq_len"]) == {4} and set(got["model"]) == {"model-q"}
    assert position_nll_sql(con, "u")["nll"].to_list() == [2.0, 4.0]


def test_position_kl_by_hand(con) -> None:
    got = position_kl_sql(con)
    assert set(got["run_id"]) == {"q"}  # only runs naming a reference
    # Eq. (E.36): mean over samples of log p − log q
    assert got["kl"].to_list() == pytest.approx([
        ((-0.5 + 1) + (-1 + 2) + (-2 + 3)) / 3,
        ((-1.5 + 2) + (-1 + 1) + (-1 + 1)) / 3,
        ((-1 + 1) + (-1.5 + 2) + (-0.5 + 1)) / 3,
        ((-2 + 3) + (-0.5 + 1)) / 2,  # sample 2 of q has no position 3
    ])  # fmt: skip
    assert got["n"].to_list() == [3, 3, 3, 2]
    assert got["kl_stderr"][0] == pytest.approx(statistics.stdev([0.5, 1, 1]) / math.sqrt(3))
    assert set(got["reference_run_id"]) == {"p"} and set(got["n_token_mismatch"]) == {0}


def test_average_metrics_by_hand(con) -> None:
    got = {r["run_id"]: r for r in average_metrics_sql(con).iter_rows(named=True)}
    # Eq. (E.39): mean over the 4 positions of the position-wise NLL
    assert got["q"]["avg_nll"] == pytest.approx((6 / 3 + 4 / 3 + 4 / 3 + 4 / 2) / 4)
    # Eq. (E.37)
    assert got["q"]["avg_kl"] == pytest.approx((2.5 / 3 + 0.5 / 3 + 1.0 / 3 + 1.5 / 2) / 4)
    assert got["q"]["reference_run_id"] == "p" and got["q"]["seq_len"] == 4
    assert got["u"]["avg_kl"] is None and got["u"]["avg_nll"] == pytest.approx(3.0)
    assert got["p"]["avg_nll"] == pytest.approx((3.5 / 3 + 3.5 / 3 + 3.0 / 3 + 3.5 / 3) / 4)


def test_polars_paths_equal_sql(con) -> None:
    tokens = token_rows(LOGPROBS)
    assert_frame_equal(
        position_nll_polars(tokens), position_nll_sql(con).drop("model"), abs_tol=1e-12
    )
    model = tokens.filter(pl.col("run_id") == "q")
    reference = tokens.filter(pl.col("run_id") == "p")
    sql_kl = position_kl_sql(con).select("run_id", "seq_len", "position", "kl", "kl_stderr", "n")
    assert_frame_equal(position_kl_polars(model, reference), sql_kl, abs_tol=1e-12)
    averages = average_over_positions(position_nll_polars(tokens), "nll")
    assert_frame_equal(averages, average_metrics_sql(con).select("run_id", "avg_nll"))


def test_position_metrics_view_has_kl_only_with_a_reference(con) -> None:
    rows = con.sql("SELECT * FROM position_metrics ORDER BY run_id, position").pl()
    assert rows.columns == [
        "run_id", "model", "train_length", "seq_len", "position", "kl", "kl_stderr", "nll",
        "nll_stderr", "n", "samples_digest",
    ]  # fmt: skip
    q = rows.filter(pl.col("run_id") == "q")
    assert q["kl"].null_count() == 0 and q.height == 4
    assert rows.filter(pl.col("run_id") == "u")["kl"].null_count() == 2
    # the same numbers as the named queries (one definition: stg_position_metrics)
    assert q["kl"].to_list() == position_kl_sql(con, "q")["kl"].to_list()
    assert q["nll"].to_list() == position_nll_sql(con, "q")["nll"].to_list()


def test_mismatched_tokens_are_refused() -> None:
    tokens = token_rows(LOGPROBS, token_of=lambda pair, pos: pos)
    tokens = tokens.with_columns(  # the model saw another token at pair 1, position 2
        token_id=pl.when((pl.col("run_id") == "q") & (pl.col("sample_id") == 1)
                         & (pl.col("position") == 2)).then(99).otherwise("token_id")
    )  # fmt: skip
    with pytest.raises(InputError, match="1 .* rows with different token ids"):
        position_kl_sql(connect(tokens), "q")


# ---------------------------------------------------------------------------- the warehouse
@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    path = tmp_path / "l2m.duckdb"
    tokens = token_rows(LOGPROBS)
    with Warehouse.open(path) as wh:
        for run, config in CONFIGS.items():
            wh.start_run("planted", run_id=run, model=f"model-{run}", config=config)
            wh.append_batch("token_logprobs", run, "all", tokens.filter(pl.col("run_id") == run))
    return path


def test_pipeline_end_to_end(warehouse_path: Path, capsys) -> None:
    argv = ["--warehouse", str(warehouse_path)]
    assert run_cli(position_pipeline.main, argv) == 0
    assert run_cli(position_pipeline.main, [*argv, "--run-id", "q"]) == 0  # replaces, no dupes
    out = capsys.readouterr().out
    assert "Average NLL and KL" in out and "model-q" in out
    with Warehouse.open(warehouse_path, create=False) as wh:
        stored = wh.query("SELECT * FROM position_metrics ORDER BY run_id, position")
    assert stored.height == 4 + 4 + 2  # runs p, q, u
    q = stored.filter(pl.col("run_id") == "q")
    assert q["nll"].to_list() == pytest.approx([6 / 3, 4 / 3, 4 / 3, 4 / 2])
    assert q["kl"].to_list() == pytest.approx([2.5 / 3, 0.5 / 3, 1.0 / 3, 1.5 / 2])
    assert set(q["model"]) == {"model-q"} and set(q["seq_len"]) == {4}
    assert stored.filter(pl.col("run_id") != "q")["kl"].null_count() == 6


def test_sql_files_run_unchanged_on_the_warehouse_file(warehouse_path: Path) -> None:
    con_mem = connect(token_rows(LOGPROBS))
    for name in ("position_nll", "position_kl", "average_metrics"):
        text = (QUERIES / f"{name}.sql").read_text()  # as the DuckDB CLI would read it
        with duckdb.connect(str(warehouse_path), read_only=True) as con:
            got = pl.from_arrow(con.sql(text).to_arrow_table())
        assert_frame_equal(got, pl.from_arrow(con_mem.sql(text).to_arrow_table()), abs_tol=1e-12)
        assert got.height > 0


def test_pipeline_on_empty_warehouse_says_what_to_run(tmp_path: Path, capsys) -> None:
    Warehouse.open(tmp_path / "empty.duckdb").close()
    assert run_cli(position_pipeline.main, ["--warehouse", str(tmp_path / "empty.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "no scored no_split log-probs" in err and "pipelines." in err
    assert run_cli(position_pipeline.main, ["--warehouse", str(tmp_path / "no.duckdb")]) == 2
    assert "no warehouse" in capsys.readouterr().err


def test_continuous_tokens_are_per_token_averaged_over_their_copies() -> None:
    # a Gaussian token stacks `copies` values (Eq. E.34): its log-density is a sum over them,
    # and Eq. (E.35) reports per token averaged over the copies — as pipelines.evaluate stores
    tokens = token_rows({"g": {0: [-8.0, 4.0], 1: [-4.0, 0.0]}, "h": {0: [-4.0, 0.0],
                                                                     1: [-8.0, 8.0]}})  # fmt: skip
    runs = pl.DataFrame(
        [("g", "oracle", json.dumps({"copies": 4})),
         ("h", "planted", json.dumps({"copies": 4, "reference_run_id": "g"}))],
        schema=["run_id", "kind", "config"], orient="row",
    ).with_columns(status=pl.lit("complete"))  # fmt: skip
    con = frames_connection({"runs": runs, "token_logprobs": tokens})
    nll = position_nll_sql(con, "g")
    assert nll["nll"].to_list() == pytest.approx([12 / 2 / 4, -4 / 2 / 4])
    kl = position_kl_sql(con, "h")  # log p − log q per sample: (−4, 4) and (4, −8), then / 4
    assert kl["kl"].to_list() == pytest.approx([0.0, -0.5])


def test_average_standard_errors_are_over_per_sample_averages(con) -> None:
    got = {r["run_id"]: r for r in average_metrics_sql(con).iter_rows(named=True)}
    # run q: per-sample averages of −log q over its positions, and of log p − log q
    nll = [7 / 4, 6 / 4, 5 / 3]
    kl = [(0.5 + 0.5 + 0 + 1) / 4, (1 + 0 + 0.5 + 0.5) / 4, (1 + 0 + 0.5) / 3]
    assert got["q"]["avg_nll_stderr"] == pytest.approx(statistics.stdev(nll) / math.sqrt(3))
    assert got["q"]["avg_kl_stderr"] == pytest.approx(statistics.stdev(kl) / math.sqrt(3))
    assert got["q"]["n_samples"] == 3 and got["q"]["kl_method"] == "monte_carlo"
    assert got["u"]["avg_nll_stderr"] is None and got["u"]["n_samples"] == 1  # one sample


def test_a_closed_form_kl_per_token_is_preferred_and_the_monte_carlo_one_kept() -> None:
    # run "a" (2 copies per token) names reference "e" and has closed-form KL rows (token_kl,
    # summed over copies like its logprob); its curve is their mean / 2, mc_kl the check
    tokens = token_rows({"a": {0: [-3.0, -5.0], 1: [-1.0, -3.0]},
                         "e": {0: [-2.0, -4.0], 1: [-2.0, -2.0]}})  # fmt: skip
    kl = pl.DataFrame({"run_id": "a", "sample_id": [0, 0, 1, 1], "position": [0, 1, 0, 1],
                       "kl": [0.2, 0.6, 0.4, 1.0]})  # fmt: skip
    runs = pl.DataFrame(
        [("a", "evaluation", json.dumps({"copies": 2, "reference_run_id": "e"})),
         ("e", "evaluation_reference", json.dumps({"copies": 2}))],
        schema=["run_id", "kind", "config"], orient="row",
    ).with_columns(status=pl.lit("complete"))  # fmt: skip
    con = frames_connection({"runs": runs, "token_logprobs": tokens, "token_kl": kl})
    got = position_kl_sql(con, "a")
    assert got["kl"].to_list() == pytest.approx([0.3 / 2, 0.8 / 2])
    assert got["kl_stderr"][0] == pytest.approx(statistics.stdev([0.1, 0.2]) / math.sqrt(2))
    assert set(got["kl_method"]) == {"analytic"} and got["n"].to_list() == [2, 2]
    assert got["mc_kl"].to_list() == pytest.approx([(1 + -1) / 2 / 2, (1 + 1) / 2 / 2])
    average = average_metrics_sql(con, "a").row(0, named=True)
    assert average["avg_kl"] == pytest.approx((0.15 + 0.4) / 2)
    assert average["avg_kl_stderr"] == pytest.approx(
        statistics.stdev([0.4 / 2, 0.7 / 2]) / math.sqrt(2)
    )
    assert average["avg_mc_kl"] == pytest.approx((0.0 + 0.5) / 2)
    # the reference run itself has only an NLL curve
    assert position_kl_sql(con, "e").height == 0
    assert position_nll_sql(con, "e")["nll"].to_list() == pytest.approx([1.0, 1.5])
