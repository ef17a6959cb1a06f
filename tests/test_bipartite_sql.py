"""Bipartite MI from stored log-probs: queries/bipartite_mi.sql against hand-computed answers.

One discrete run "r", three pairs, positions 0..7, splits ℓ = 1 and 2, Ĥ_G(Y1, Y2) = 2 nats.
Pair 2 lacks no_split position 5 and its ℓ = 1 split rows stop at position 2, so it must drop
out of exactly the windows that need those positions. Every expected number below is a sum of
the table's log-probs written out by hand.
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import pipelines.bipartite_mi as bipartite_pipeline
from l2m_analysis.cli import run_cli
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.adjacent_pairs import sample_adjacent_pair_entropy
from l2m_analysis.estimators.bipartite import bipartite_mi_sql
from l2m_analysis.estimators.entropy import entropy_grassberger
from l2m_analysis.estimators.logprob_checks import validate_token_logprobs_sql
from l2m_analysis.warehouse import Warehouse, schema
from l2m_analysis.warehouse.memory import frames_connection
from tests.reference import adjacent_pair_count_of_counts, bipartite_mi_polars

QUERIES = Path(__file__).resolve().parents[1] / "queries"
H_2GRAM = 2.0  # nats
# condition -> split_at -> sample_id -> {position: log q}
TABLE = {
    "no_split": {
        0: {
            0: {0: -1, 1: -2, 2: -1, 3: -3, 4: -2, 5: -1, 6: -2, 7: -1},
            1: {0: -2, 1: -1, 2: -2, 3: -1, 4: -2, 5: -3, 6: -1, 7: -2},
            2: {0: -1, 1: -2, 2: -3, 3: -2, 4: -2, 6: -1, 7: -1},  # no position 5
        }
    },
    "marginal": {
        1: {
            0: {1: -3, 2: -2, 3: -4, 4: -3, 5: -2, 6: -3, 7: -2},
            1: {1: -2, 2: -3, 3: -2, 4: -2, 5: -4, 6: -2, 7: -3},
            2: {1: -2, 2: -4, 3: -3, 4: -3, 5: -2, 6: -2, 7: -2},
        },
        2: {
            0: {2: -2, 3: -4, 4: -3, 5: -2, 6: -3, 7: -2},
            1: {2: -3, 3: -2, 4: -2, 5: -4, 6: -2, 7: -3},
            2: {2: -4, 3: -3, 4: -3, 5: -2, 6: -2, 7: -2},
        },
    },
    "split": {
        1: {
            0: {1: -4, 2: -3, 3: -5, 4: -4, 5: -3, 6: -4, 7: -3},
            1: {1: -3, 2: -4, 3: -3, 4: -3, 5: -5, 6: -3, 7: -4},
            2: {1: -3, 2: -5},  # shorter: stops at position 2
        },
        2: {
            0: {2: -3, 3: -5, 4: -4, 5: -3, 6: -4, 7: -3},
            1: {2: -4, 3: -3, 4: -3, 5: -5, 6: -3, 7: -4},
            2: {2: -5, 3: -4, 4: -4, 5: -3, 6: -3, 7: -3},
        },
    },
}

# Per window (ℓ, L): per-pair sums over positions ℓ..L-1, written out from TABLE.
#   ns = Σ no_split, mg = Σ marginal, f2 = marginal at ℓ and ℓ+1, sp = Σ split
WINDOWS = {
    (1, 2): dict(  # Y = position 1
        ns=[-2, -1, -2], mg=[-3, -2, -2], f2=None, sp=[-4, -3, -3]
    ),
    (1, 3): dict(  # Y = positions 1, 2
        ns=[-2 - 1, -1 - 2, -2 - 3],
        mg=[-3 - 2, -2 - 3, -2 - 4],
        f2=[-3 - 2, -2 - 3, -2 - 4],
        sp=[-4 - 3, -3 - 4, -3 - 5],
    ),
    (1, 4): dict(  # Y = positions 1..3; pair 2 has no split row at 3 -> not in vclub
        ns=[-2 - 1 - 3, -1 - 2 - 1, -2 - 3 - 2],
        mg=[-3 - 2 - 4, -2 - 3 - 2, -2 - 4 - 3],
        f2=[-3 - 2, -2 - 3, -2 - 4],
        sp=[-4 - 3 - 5, -3 - 4 - 3],
    ),
    (2, 4): dict(  # Y = positions 2, 3
        ns=[-1 - 3, -2 - 1, -3 - 2],
        mg=[-2 - 4, -3 - 2, -4 - 3],
        f2=[-2 - 4, -3 - 2, -4 - 3],
        sp=[-3 - 5, -4 - 3, -5 - 4],
    ),
    (2, 6): dict(  # Y = positions 2..5; pair 2 has no no_split row at 5 -> out everywhere
        ns=[-1 - 3 - 2 - 1, -2 - 1 - 2 - 3],
        mg=[-2 - 4 - 3 - 2, -3 - 2 - 2 - 4],
        f2=[-2 - 4, -3 - 2],
        sp=[-3 - 5 - 4 - 3, -4 - 3 - 3 - 5],
    ),
    (2, 8): dict(  # Y = positions 2..7; pair 2 out
        ns=[-1 - 3 - 2 - 1 - 2 - 1, -2 - 1 - 2 - 3 - 1 - 2],
        mg=[-2 - 4 - 3 - 2 - 3 - 2, -3 - 2 - 2 - 4 - 2 - 3],
        f2=[-2 - 4, -3 - 2],
        sp=[-3 - 5 - 4 - 3 - 4 - 3, -4 - 3 - 3 - 5 - 3 - 4],
    ),
}


def table_rows(table: dict, run_id: str = "r", token_id: int = 7) -> pl.DataFrame:
    rows = [
        (run_id, pair, condition, split_at, position, token_id, float(logprob))
        for condition, by_split in table.items()
        for split_at, by_pair in by_split.items()
        for pair, by_position in by_pair.items()
        for position, logprob in by_position.items()
    ]
    return pl.DataFrame(rows, schema=schema.BULK_TABLES["token_logprobs"].names, orient="row")


def connect(
    token_logprobs: pl.DataFrame, entropies: list[tuple[str, float]], h_stderr: float | None = None
) -> duckdb.DuckDBPyConnection:
    """The hand table in an in-memory warehouse, with Ĥ_G rows per run (and rows the query
    must ignore: another estimator and another quantity of the same run)."""
    rows = [("r", "hand", "adjacent_pair", "plugin", 99.0, None),
            ("r", "hand", "unigram", "grassberger", 99.0, None)]  # fmt: skip
    rows += [(r, "hand", "adjacent_pair", "grassberger", v, h_stderr) for r, v in entropies]
    names = ["run_id", "source", "quantity", "estimator", "value", "stderr"]
    entropy_rows = pl.DataFrame(rows, schema=names, orient="row")
    runs = pl.DataFrame({"run_id": token_logprobs["run_id"].unique().sort()}).with_columns(
        config=pl.lit('{"ratios": [2, 3, 4]}')
    )
    return frames_connection(
        {"token_logprobs": token_logprobs, "entropies": entropy_rows, "runs": runs}
    )


def expected(estimator: str, split_at: int, length: int) -> tuple[float, float | None, int]:
    """(mean, stderr, n) over pairs of the hand sums of WINDOWS."""
    w = WINDOWS[(split_at, length)]
    if estimator == "direct_uncorrected":  # Eq. (6)
        per_pair = [ns - mg for ns, mg in zip(w["ns"], w["mg"], strict=False)]
    elif estimator == "vclub":  # Eq. (7)
        per_pair = [ns - sp for ns, sp in zip(w["ns"], w["sp"], strict=False)]
    else:  # Eq. (6) + (A.14): first two marginal terms -> (their sum + 4·(−Ĥ))/5
        per_pair = [
            ns - (mg - f2 + (f2 + 4 * -H_2GRAM) / 5)
            for ns, mg, f2 in zip(w["ns"], w["mg"], w["f2"], strict=False)
        ]
    n = len(per_pair)
    stderr = statistics.stdev(per_pair) / math.sqrt(n) if n > 1 else None
    return statistics.fmean(per_pair), stderr, n


@pytest.fixture(scope="module")
def hand_con() -> duckdb.DuckDBPyConnection:
    return connect(table_rows(TABLE), [("r", H_2GRAM)])


def test_hand_table_every_ratio_and_estimator(hand_con) -> None:
    got = bipartite_mi_sql(hand_con)
    assert got.columns == [
        "run_id", "quantity", "estimator", "length", "split_at", "ratio", "value", "stderr",
        "stderr_common", "n",
    ]  # fmt: skip
    assert set(got["quantity"]) == {"bipartite"}
    seen = set()
    for estimator in ("direct", "direct_uncorrected", "vclub"):
        for (split_at, length), window in WINDOWS.items():
            if estimator == "direct" and window["f2"] is None:
                continue  # Y of one token: no 2-gram correction, no `direct` row
            row = got.filter(
                (pl.col("estimator") == estimator)
                & (pl.col("split_at") == split_at)
                & (pl.col("length") == length)
            )
            assert row.height == 1, (estimator, split_at, length)
            value, stderr, n = expected(estimator, split_at, length)
            r = row.row(0, named=True)
            assert r["ratio"] == length // split_at
            assert r["n"] == n, (estimator, split_at, length)
            assert r["value"] == pytest.approx(value, abs=1e-12), (estimator, split_at, length)
            assert r["stderr"] == pytest.approx(stderr, abs=1e-12), (estimator, split_at, length)
            seen.add((estimator, split_at, length))
    assert got.height == len(seen) == 17  # no extra rows; direct at (ℓ=1, L=2) absent


def test_a_few_values_spelled_out(hand_con) -> None:
    got = bipartite_mi_sql(hand_con).filter((pl.col("split_at") == 2) & (pl.col("ratio") == 2))
    by = {r["estimator"]: r for r in got.iter_rows(named=True)}
    # ℓ=2, L=4, per pair Σns − Σmg: (−4+6, −3+5, −5+7) = (2, 2, 2) -> 2 ± 0
    assert by["direct_uncorrected"]["value"] == pytest.approx(2.0)
    assert by["direct_uncorrected"]["stderr"] == pytest.approx(0.0)
    # corrected marginal = (Σmg + 4·(−2))/5 since Y has exactly two tokens:
    # (−6−8)/5 = −2.8, (−5−8)/5 = −2.6, (−7−8)/5 = −3 -> per pair (−1.2, −0.4, −2) -> mean −1.2
    assert by["direct"]["value"] == pytest.approx((-1.2 - 0.4 - 2.0) / 3)
    # vclub: (−4+8, −3+7, −5+9) = (4, 4, 4)
    assert by["vclub"]["value"] == pytest.approx(4.0) and by["vclub"]["n"] == 3


def test_incomplete_pairs_are_excluded_not_partially_summed() -> None:
    table = {c: {s: {p: dict(v) for p, v in b.items()} for s, b in by.items()}
             for c, by in TABLE.items()}  # fmt: skip
    del table["no_split"][0][0][3]  # pair 0 loses no_split position 3
    got = bipartite_mi_sql(connect(table_rows(table), [("r", H_2GRAM)]))
    du = got.filter(pl.col("estimator") == "direct_uncorrected")
    n_of = {(r["split_at"], r["length"]): r["n"] for r in du.iter_rows(named=True)}
    # windows containing position 3 lose pair 0; ℓ=1, L∈{2,3} do not contain it
    assert n_of == {(1, 2): 3, (1, 3): 3, (1, 4): 2, (2, 4): 2, (2, 6): 1, (2, 8): 1}
    # ℓ=2, L=6 is now pair 1 alone: Σns − Σmg = −8 − (−11) = 3, stderr undefined
    only = du.filter((pl.col("split_at") == 2) & (pl.col("length") == 6)).row(0, named=True)
    assert only["value"] == pytest.approx(3.0) and only["stderr"] is None


def test_no_entropy_row_means_no_direct_row() -> None:
    continuous = table_rows(TABLE, run_id="g", token_id=-1).with_columns(
        pl.col("logprob") + 5.0  # log-densities may be positive
    )
    got = bipartite_mi_sql(connect(continuous, []), run_id="g")
    assert set(got["estimator"]) == {"direct_uncorrected", "vclub"}
    # shifting every log-density by +5 cancels in both differences
    du = got.filter((pl.col("estimator") == "direct_uncorrected") & (pl.col("length") == 8))
    assert du["value"][0] == pytest.approx(expected("direct_uncorrected", 2, 8)[0])


def test_polars_path_equals_sql_on_hand_table(hand_con) -> None:
    assert_frame_equal(
        bipartite_mi_polars(table_rows(TABLE), H_2GRAM), bipartite_mi_sql(hand_con), abs_tol=1e-12
    )


def random_table(seed: int) -> pl.DataFrame:
    """Two runs, 40 pairs of 17..40 tokens, splits 2, 4, 8, a few rows dropped at random."""
    rng = np.random.default_rng(seed)
    frames = []
    for run_id in ("a", "b"):
        for pair in range(40):
            n = int(rng.integers(17, 41))
            parts = [("no_split", 0, np.arange(n))]
            parts += [(c, s, np.arange(s, n)) for s in (2, 4, 8) for c in ("marginal", "split")]
            for condition, split_at, positions in parts:
                keep = positions[rng.random(positions.size) > 0.01]
                tokens, logprobs = rng.integers(0, 5, keep.size), -rng.exponential(2, keep.size)
                frames.append(pl.DataFrame({
                    "run_id": run_id, "sample_id": pair, "condition": condition,
                    "split_at": split_at, "position": keep, "token_id": tokens, "logprob": logprobs,
                }))  # fmt: skip
    return pl.concat(frames).cast(
        {"sample_id": pl.Int64, "split_at": pl.Int32, "position": pl.Int32, "token_id": pl.Int64}
    )


def test_polars_path_equals_sql_on_random_table() -> None:
    table = random_table(seed=3)
    h = {"a": 1.7, "b": 2.9}
    sql = bipartite_mi_sql(connect(table, list(h.items())))
    assert sql.height > 40 and (sql["n"] < 40).any()  # some pairs were dropped
    assert_frame_equal(bipartite_mi_polars(table, h), sql, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.drop("position"), "lacks the columns ['position']"),
        (lambda df: df.clear(), "is empty"),
        (
            lambda df: df.with_columns(
                logprob=pl.when(pl.col("position") == 3).then(float("nan")).otherwise("logprob")
            ),
            "NaN",
        ),  # fmt: skip
        (lambda df: df.with_columns(logprob=-pl.col("logprob")), "positive logprob"),
        (lambda df: df.with_columns(condition=pl.lit("prefix")), "unknown condition"),
        (
            lambda df: df.with_columns(
                condition=pl.when(pl.col("position") == 1).then(None).otherwise("condition")
            ),
            "rows with NULL in",
        ),  # fmt: skip
        (lambda df: df.with_columns(split_at=pl.lit(3, pl.Int32)), "wrong split_at"),
        (lambda df: pl.concat([df, df.head(2)]), "2 duplicated"),
    ],
)
def test_validation_names_problem_and_fix(change, message) -> None:
    bad = change(table_rows(TABLE))
    con = duckdb.connect()
    con.register("token_logprobs", bad)
    with pytest.raises(InputError, match=re.escape(message)) as err:
        validate_token_logprobs_sql(con, "r")
    assert err.value.fix


def test_continuous_tokens_may_have_positive_log_densities() -> None:
    good = table_rows(TABLE, token_id=-1).with_columns(-pl.col("logprob"))
    validate_token_logprobs_sql(frames_connection({"token_logprobs": good}), "r")
    validate_token_logprobs_sql(frames_connection({"token_logprobs": table_rows(TABLE)}), "r")


def test_adjacent_pair_count_of_counts_by_hand() -> None:
    # pair 0 tokens 5 6 5 6 (adjacent pairs 56 65 56), pair 1 tokens 5 6 _ 7 (56 only: gap)
    tokens = {(0, 0): 5, (0, 1): 6, (0, 2): 5, (0, 3): 6, (1, 0): 5, (1, 1): 6, (1, 3): 7}
    df = pl.DataFrame(
        [("r", p, "no_split", 0, pos, tok, -1.0) for (p, pos), tok in tokens.items()]
        + [("r", 0, "marginal", 1, 1, 9, -1.0), ("r", 0, "marginal", 1, 2, 9, -1.0)],
        schema=schema.BULK_TABLES["token_logprobs"].names, orient="row",
    )  # fmt: skip
    # (5,6) seen 3 times, (6,5) once -> count-of-counts {1: 1, 3: 1}
    counts = adjacent_pair_count_of_counts(df)
    assert counts.to_dicts() == [
        {"run_id": "r", "count": 1, "n_items": 1},
        {"run_id": "r", "count": 3, "n_items": 1},
    ]
    by_hand = entropy_grassberger(np.array([3, 1]))
    con = connect(df.cast({"split_at": pl.Int32, "position": pl.Int32}), [])
    assert sample_adjacent_pair_entropy(con, "r") == by_hand


def test_adjacent_pair_entropy_sql_equals_polars_on_random_table() -> None:
    table = random_table(seed=5)
    con = connect(table, [])
    reference = adjacent_pair_count_of_counts(table)
    for run_id in ("a", "b"):
        cc = reference.filter(pl.col("run_id") == run_id)
        want = entropy_grassberger(cc["count"].to_numpy(), cc["n_items"].to_numpy())
        assert sample_adjacent_pair_entropy(con, run_id) == want


def test_adjacent_pair_entropy_refuses_continuous_runs() -> None:
    with pytest.raises(InputError, match="no adjacent pairs of discrete tokens"):
        sample_adjacent_pair_entropy(connect(table_rows(TABLE, token_id=-1), []), "r")


# ---------------------------------------------------------------------------- the warehouse
def discrete_table(run_id: str) -> pl.DataFrame:
    """TABLE with token ids that vary (position mod 3), so the 2-gram entropy is not trivial."""
    return table_rows(TABLE, run_id=run_id).with_columns(
        token_id=(pl.col("position") % 3).cast(pl.Int64)
    )


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    path = tmp_path / "l2m.duckdb"
    with Warehouse.open(path) as wh:
        wh.start_run(
            "planted", run_id="hand", dataset="hand-table", config={"n": 3, "ratios": [2, 3, 4]}
        )
        wh.append_batch("token_logprobs", "hand", "all", discrete_table("hand").drop("run_id"))
        wh.start_run(
            "gaussian_exact", run_id="gauss", dataset="gaussian", config={"ratios": [2, 3, 4]}
        )
        gauss = table_rows(TABLE, run_id="gauss", token_id=-1).with_columns(-pl.col("logprob"))
        wh.append_batch("token_logprobs", "gauss", "all", gauss)
        exact = pl.DataFrame({"run_id": ["hand"], "source": ["hand-table"],
                              "quantity": ["bipartite"], "estimator": ["exact"], "length": [4],
                              "split_at": [2], "ratio": [2], "value": [0.5]})  # fmt: skip
        wh.replace_partitions("mi_estimates", exact)
        stale = exact.with_columns(estimator=pl.lit("direct"), split_at=pl.lit(99))
        wh.replace_partitions("mi_estimates", stale)
    return path


def test_pipeline_end_to_end(warehouse_path: Path, capsys) -> None:
    argv = ["--warehouse", str(warehouse_path)]
    assert run_cli(bipartite_pipeline.main, argv) == 0
    out = capsys.readouterr().out
    assert "Bipartite mutual information" in out
    assert "hand names no corpus run" in out  # the samples' Ĥ_G, said out loud
    assert "Convergence of Ĥ_G(Y1, Y2) of hand" in " ".join(out.split())  # and how it converged
    assert run_cli(bipartite_pipeline.main, argv) == 0  # a rerun replaces, never duplicates
    table = discrete_table("hand")
    cc = adjacent_pair_count_of_counts(table)
    h = entropy_grassberger(cc["count"].to_numpy(), cc["n_items"].to_numpy())
    with Warehouse.open(warehouse_path, create=False) as wh:
        entropy = wh.query("SELECT * FROM entropies WHERE quantity = 'adjacent_pair'").to_dicts()
        steps = wh.query("SELECT * FROM entropies WHERE quantity = 'adjacent_pair_subsample' "
                         "AND estimator = 'grassberger' ORDER BY n").to_dicts()  # fmt: skip
        stored = wh.query(
            "SELECT * EXCLUDE (source, distance) FROM mi_estimates WHERE estimator <> 'exact' "
            "ORDER BY run_id, estimator, ratio, split_at"
        )
        sources = wh.query("SELECT DISTINCT run_id, source FROM mi_estimates ORDER BY run_id")
        exact = wh.query("SELECT value FROM mi_estimates WHERE estimator = 'exact'")
    assert len(entropy) == 1  # only the discrete run gets a 2-gram entropy
    assert entropy[0]["run_id"] == "hand" and entropy[0]["quantity"] == "adjacent_pair"
    assert entropy[0]["data_run_id"] == "hand"  # counted from its own samples
    assert entropy[0]["value"] == pytest.approx(h.value) and entropy[0]["n"] == h.n == 2 * 7 + 5
    # its convergence: one row per fraction 1/8, 1/4, 1/2, all (once, after the rerun), the
    # last one Ĥ_G itself
    assert [r["quantity"] for r in steps] == ["adjacent_pair_subsample"] * 4
    assert steps[-1]["value"] == pytest.approx(h.value) and steps[-1]["n"] == h.n
    want = pl.concat([
        bipartite_mi_polars(table_rows(TABLE, run_id="gauss", token_id=-1)
                            .with_columns(-pl.col("logprob"))),
        bipartite_mi_polars(table, h.value, h.stderr),
    ]).sort("run_id", "estimator", "ratio", "split_at")  # fmt: skip
    assert_frame_equal(stored, want, abs_tol=1e-12)  # the stale split_at=99 row is gone
    assert sources.to_dicts() == [
        {"run_id": "gauss", "source": "gaussian"},
        {"run_id": "hand", "source": "hand-table"},
    ]
    assert exact["value"].to_list() == [0.5]  # 'exact' rows are kept


def test_sql_file_runs_unchanged_on_the_warehouse_file(warehouse_path: Path) -> None:
    with Warehouse.open(warehouse_path) as wh:
        row = {"run_id": "hand", "source": "hand-table", "quantity": "adjacent_pair",
               "estimator": "grassberger", "value": H_2GRAM}  # fmt: skip
        wh.replace_partitions("entropies", pl.DataFrame([row]))
    text = (QUERIES / "bipartite_mi.sql").read_text()  # as the DuckDB CLI would read it
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        got = pl.from_arrow(con.sql(text).to_arrow_table()).filter(pl.col("run_id") == "hand")
    assert_frame_equal(got, bipartite_mi_polars(discrete_table("hand"), H_2GRAM), abs_tol=1e-12)
    for name in ("adjacent_pair_counts",):
        with duckdb.connect(str(warehouse_path), read_only=True) as con:
            counts = pl.from_arrow(con.sql((QUERIES / f"{name}.sql").read_text()).to_arrow_table())
        assert_frame_equal(counts, adjacent_pair_count_of_counts(discrete_table("hand")))


def test_pipeline_on_empty_or_missing_warehouse_says_what_to_run(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "none.duckdb"
    assert run_cli(bipartite_pipeline.main, ["--warehouse", str(missing)]) == 2
    assert "no warehouse" in capsys.readouterr().err
    Warehouse.open(tmp_path / "empty.duckdb").close()
    assert run_cli(bipartite_pipeline.main, ["--warehouse", str(tmp_path / "empty.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "no scored marginal/split log-probs" in err and "pipelines.score_oracle" in err
    assert "Traceback" not in err


def test_pipeline_refuses_bad_log_probs(tmp_path: Path, capsys) -> None:
    path = tmp_path / "l2m.duckdb"
    with Warehouse.open(path) as wh:
        wh.start_run("planted", run_id="bad", config={})
        wh.append_batch("token_logprobs", "bad", "all", table_rows(TABLE, run_id="bad")
                        .with_columns(logprob=-pl.col("logprob")))  # fmt: skip
    assert run_cli(bipartite_pipeline.main, ["--warehouse", str(path), "--run-id", "bad"]) == 2
    assert "positive logprob" in capsys.readouterr().err
