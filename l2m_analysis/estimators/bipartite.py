"""Bipartite mutual information I^BP_{ℓ;L} (nats) from stored token log-probs.

Two paths give the same numbers: ``bipartite_mi_sql`` runs ``queries/bipartite_mi.sql`` (the
file users run in the DuckDB CLI) on a warehouse connection, ``bipartite_mi_polars`` does the
same arithmetic on an in-memory ``token_logprobs`` frame. Estimators (see the SQL file's header):
``direct`` (Eq. 6 with the 2-gram correction of Eq. A.14), ``direct_uncorrected`` (Eq. 6) and
``vclub`` (Eq. 7), for every scored split ℓ and L/ℓ in ``RATIOS``, each a mean over pairs with
stderr = std/sqrt(n). ``adjacent_pair_entropy`` gives the Ĥ_G(Y1, Y2) that the correction needs.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import polars as pl

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import EntropyEstimate, entropy_grassberger
from l2m_analysis.warehouse.queries import read_query, sql_to_polars
from l2m_analysis.warehouse.schema import CONDITIONS, PARQUET_TABLES

RATIOS = (2, 3, 4)  # L/ℓ, as in Fig. 3
ESTIMATORS = ("direct", "direct_uncorrected", "vclub")
COLUMNS = tuple(PARQUET_TABLES["token_logprobs"].names)
DTYPES = dict(pl.from_arrow(PARQUET_TABLES["token_logprobs"].empty_table()).schema)
ROW_KEY = ("run_id", "pair_id", "condition", "split_at", "position")
KEY_COLUMNS = [*ROW_KEY, "token_id"]  # must not be NULL
# log q may round a hair above 0 for a near-certain token; more than this is a real error
LOGPROB_TOLERANCE = 1e-6
MI_COLUMNS = (
    "run_id",
    "quantity",
    "estimator",
    "length",
    "split_at",
    "ratio",
    "value",
    "stderr",
    "n",
)
_WINDOW = ["run_id", "split_at", "ratio", "length"]


# ---------------------------------------------------------------------------- validation
def validate_token_logprobs(df: pl.DataFrame) -> None:
    """Raise InputError naming the problem and the fix if ``df`` is no valid token_logprobs."""
    _check_columns(df.columns)
    summary = df.select(
        n_rows=pl.len(),
        n_nan=(pl.col("logprob").is_null() | pl.col("logprob").is_nan().fill_null(True)).sum(),
        n_positive=((pl.col("token_id") >= 0) & (pl.col("logprob") > LOGPROB_TOLERANCE)).sum(),
        n_bad_split=_bad_split_at_expr().sum(),
        n_null=pl.any_horizontal(pl.col(KEY_COLUMNS).is_null()).sum(),
        n_keys=pl.struct(ROW_KEY).n_unique(),
    ).row(0, named=True)
    summary["bad_conditions"] = sorted(
        c for c in df["condition"].unique().to_list() if c not in CONDITIONS
    )
    _raise_for_problems(summary, "")


def validate_token_logprobs_sql(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """The checks of ``validate_token_logprobs`` run inside DuckDB on one run's rows."""
    _check_columns([r[0] for r in con.execute("DESCRIBE token_logprobs").fetchall()])
    known = ", ".join(f"'{c}'" for c in CONDITIONS)
    row = con.execute(
        f"""
        SELECT count(*) AS n_rows,
            count(*) FILTER (WHERE logprob IS NULL OR isnan(logprob)) AS n_nan,
            count(*) FILTER (WHERE {" OR ".join(f"{c} IS NULL" for c in KEY_COLUMNS)}) AS n_null,
            count(*) FILTER (WHERE token_id >= 0 AND logprob > {LOGPROB_TOLERANCE}) AS n_positive,
            count(*) FILTER (WHERE (condition = 'no_split' AND split_at <> 0)
                OR (condition IN ('split', 'marginal') AND split_at < 1)) AS n_bad_split,
            count(DISTINCT ({", ".join(ROW_KEY)})) AS n_keys,
            list(DISTINCT condition) FILTER (WHERE condition NOT IN ({known})) AS bad_conditions
        FROM token_logprobs WHERE run_id = ?""",
        [run_id],
    ).fetchall()[0]  # fetchall: fetchone leaves the result open (duckdb 2)
    names = ["n_rows", "n_nan", "n_null", "n_positive", "n_bad_split", "n_keys", "bad_conditions"]
    summary = dict(zip(names, row, strict=True))
    summary["bad_conditions"] = sorted(c for c in summary["bad_conditions"] or [] if c)
    _raise_for_problems(summary, f" of run {run_id!r}")


def _check_columns(columns: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"token_logprobs lacks the columns {missing}",
            f"provide every column of the token_logprobs schema: {list(COLUMNS)}",
        )


def _bad_split_at_expr() -> pl.Expr:
    cond, split_at = pl.col("condition"), pl.col("split_at")
    return ((cond == "no_split") & (split_at != 0)) | (
        cond.is_in(["split", "marginal"]) & (split_at < 1)
    )


def _raise_for_problems(s: dict, where: str) -> None:
    if s["n_rows"] == 0:
        raise InputError(
            f"token_logprobs{where} is empty",
            "score the run first (its no_split, marginal and split rows), then rerun this step",
        )
    if s["n_null"]:
        raise InputError(
            f"token_logprobs{where} has {s['n_null']} rows with NULL in {KEY_COLUMNS}",
            "fill every key column (token_id = -1 for continuous tokens), then re-write the batch",
        )
    if s["bad_conditions"]:
        raise InputError(
            f"token_logprobs{where} has unknown condition values {s['bad_conditions']}",
            f"condition must be one of {list(CONDITIONS)}",
        )
    if s["n_nan"]:
        raise InputError(
            f"token_logprobs{where} has {s['n_nan']} NaN or NULL logprob values",
            "re-score those tokens (a NaN usually means an overflow: score in float32)",
        )
    if s["n_positive"]:
        raise InputError(
            f"token_logprobs{where} has {s['n_positive']} positive logprob values for discrete "
            "tokens (token_id >= 0); a log-probability is <= 0",
            "store log q in nats (log_softmax of the logits), not logits or -log q; "
            "continuous tokens, whose log-densities may be positive, need token_id = -1",
        )
    if s["n_bad_split"]:
        raise InputError(
            f"token_logprobs{where} has {s['n_bad_split']} rows with a wrong split_at",
            "no_split rows need split_at = 0; split and marginal rows need split_at = ℓ >= 1",
        )
    n_duplicates = s["n_rows"] - s["n_keys"]
    if n_duplicates:
        raise InputError(
            f"token_logprobs{where} has {n_duplicates} duplicated ({', '.join(ROW_KEY)}) rows",
            "each token is scored once per condition: delete the run's duplicated batches "
            "(or the run) and re-score",
        )


# ---------------------------------------------------------------------------- estimators
def bipartite_mi_sql(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """``queries/bipartite_mi.sql`` on ``con`` (every run, or only ``run_id``), nats.

    Needs the ``token_logprobs`` and ``entropies`` tables/views. Columns: run_id, quantity,
    estimator, length, split_at, ratio, value, stderr, n.
    """
    sql = read_query("bipartite_mi")
    if run_id is None:
        return sql_to_polars(con, sql)
    return sql_to_polars(con, f"SELECT * FROM ({sql}) AS q WHERE q.run_id = ?", [run_id])


def bipartite_mi_polars(
    token_logprobs: pl.DataFrame, h_2gram: float | Mapping[str, float] | None = None
) -> pl.DataFrame:
    """The answer of ``queries/bipartite_mi.sql`` computed with Polars, nats.

    token_logprobs: rows of the token_logprobs table (any number of runs). h_2gram: Ĥ_G(Y1, Y2)
    in nats (one float for every run, or per run_id); None -> no ``direct`` rows.
    """
    validate_token_logprobs(token_logprobs)
    tl = token_logprobs.lazy().select(COLUMNS).cast(DTYPES)  # the warehouse's column types
    cond = pl.col("condition")
    windows = (
        tl.filter(cond.is_in(["marginal", "split"]))
        .select("run_id", "split_at")
        .unique()
        .join(pl.LazyFrame({"ratio": RATIOS}, schema={"ratio": pl.Int32}), how="cross")
        .with_columns(length=(pl.col("split_at") * pl.col("ratio")).cast(pl.Int32))
    )
    row_cols = [*_WINDOW, "pair_id", "condition", "position", "logprob"]
    y_rows = pl.concat(
        [  # no_split rows serve every window of their run; the others only their own ℓ
            tl.filter(cond == "no_split")
            .drop("split_at")
            .join(windows, on="run_id")
            .select(row_cols),
            tl.filter(cond != "no_split").join(windows, on=["run_id", "split_at"]).select(row_cols),
        ]
    )
    in_window = (pl.col("position") >= pl.col("split_at")) & (pl.col("position") < pl.col("length"))
    n_y = pl.col("length") - pl.col("split_at")
    pair_sums = (
        y_rows.filter(in_window)
        .group_by([*_WINDOW, "pair_id", "condition"])
        .agg(
            y_logprob=pl.col("logprob").sum(),
            first_two=pl.col("logprob").filter(pl.col("position") < pl.col("split_at") + 2).sum(),
            n_rows=pl.len(),
            n_positions=pl.col("position").n_unique(),
        )
        .filter((pl.col("n_rows") == n_y) & (pl.col("n_positions") == n_y))  # complete pairs
    )

    def term(column: str, condition: str, name: str) -> pl.Expr:
        return pl.col(column).filter(cond == condition).first().alias(name)

    terms = pair_sums.group_by([*_WINDOW, "pair_id"]).agg(
        term("y_logprob", "no_split", "log_q_y_given_x"),
        term("y_logprob", "marginal", "log_q_y"),
        term("first_two", "marginal", "log_q_y1_y2"),
        term("y_logprob", "split", "log_q_y_given_other_x"),
    )
    x_term = pl.col("log_q_y_given_x")
    uncorrected = x_term - pl.col("log_q_y")  # Eq. (6)
    vclub = x_term - pl.col("log_q_y_given_other_x")  # Eq. (7)
    per_pair = [
        terms.select(*_WINDOW, estimator=pl.lit("direct_uncorrected"), pair_value=uncorrected),
        terms.select(*_WINDOW, estimator=pl.lit("vclub"), pair_value=vclub),
    ]
    if h_2gram is not None:
        h_table = pl.LazyFrame(
            {"run_id": list(h_2gram), "h_2gram": list(h_2gram.values())}
            if isinstance(h_2gram, Mapping)
            else {"run_id": token_logprobs["run_id"].unique().to_list(), "h_2gram": h_2gram},
            schema={"run_id": pl.String, "h_2gram": pl.Float64},
        )
        first_two = pl.col("log_q_y1_y2")
        corrected_marginal = (  # Eq. (A.14): H(p,q|BOS)/5 + 4 Ĥ_G/5 for Y1, Y2
            pl.col("log_q_y") - first_two + (first_two + 4 * (-pl.col("h_2gram"))) / 5
        )
        per_pair.append(
            terms.join(h_table, on="run_id")
            .filter(n_y >= 2)
            .select(*_WINDOW, estimator=pl.lit("direct"), pair_value=x_term - corrected_marginal)
        )
    value = pl.col("pair_value")
    return (
        pl.concat(per_pair)
        .drop_nulls("pair_value")
        .group_by("run_id", "estimator", "length", "split_at", "ratio")
        .agg(value=value.mean(), stderr=value.std() / value.len().sqrt(), n=pl.len().cast(pl.Int64))
        .with_columns(quantity=pl.lit("bipartite"))
        .select(MI_COLUMNS)
        .sort("run_id", "estimator", "ratio", "split_at")
        .collect()
    )


# ---------------------------------------------------------------------------- 2-gram entropy
def adjacent_pair_count_of_counts(token_logprobs: pl.DataFrame) -> pl.DataFrame:
    """Count-of-counts of adjacent token pairs of each run's no_split rows (Polars path).

    Same answer as ``queries/adjacent_pair_counts.sql``: columns run_id, count, n_items.
    """
    tokens = (
        token_logprobs.lazy()
        .filter((pl.col("condition") == "no_split") & (pl.col("token_id") >= 0))
        .select("run_id", "pair_id", "position", "token_id")
        .sort("run_id", "pair_id", "position")
    )
    follows = (
        (pl.col("run_id").shift(-1) == pl.col("run_id"))
        & (pl.col("pair_id").shift(-1) == pl.col("pair_id"))
        & (pl.col("position").shift(-1) == pl.col("position") + 1)
    )
    return (
        tokens.with_columns(second_token=pl.col("token_id").shift(-1), adjacent=follows)
        .filter(pl.col("adjacent"))
        .group_by("run_id", "token_id", "second_token")
        .agg(count=pl.len().cast(pl.Int64))
        .group_by("run_id", "count")
        .agg(n_items=pl.len().cast(pl.Int64))
        .sort("run_id", "count")
        .collect()
    )


def adjacent_pair_entropy(
    data: pl.DataFrame | duckdb.DuckDBPyConnection, run_id: str | None = None
) -> EntropyEstimate:
    """Grassberger entropy Ĥ_G(Y1, Y2) of adjacent token pairs of one run, nats (Eq. A.12).

    data: a token_logprobs frame (Polars path) or a warehouse connection (runs
    ``queries/adjacent_pair_counts.sql``). run_id: the run; may be omitted for a one-run frame.
    """
    if isinstance(data, pl.DataFrame):
        table = adjacent_pair_count_of_counts(data)
        if run_id is not None:
            table = table.filter(pl.col("run_id") == run_id)
    else:
        if run_id is None:
            raise InputError(
                "adjacent_pair_entropy on a connection needs a run_id",
                "pass run_id=<the scored run>",
            )
        sql = f"SELECT * FROM ({read_query('adjacent_pair_counts')}) AS q WHERE q.run_id = ?"
        table = sql_to_polars(data, sql, [run_id])
    runs = table["run_id"].unique().to_list()
    if len(runs) > 1:
        raise InputError(f"the frame holds the runs {sorted(runs)}", "pass run_id=<one of them>")
    if table.is_empty():
        raise InputError(
            f"no adjacent pairs of discrete tokens in the no_split rows of run {run_id!r}",
            "score whole samples (condition no_split); continuous-token runs (token_id = -1) "
            "have no 2-gram entropy and get no `direct` estimate",
        )
    return entropy_grassberger(table["count"].to_numpy(), table["n_items"].to_numpy())
