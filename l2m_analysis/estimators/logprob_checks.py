"""Checks a run's stored ``token_logprobs`` before any estimator reads them (inside DuckDB).

Every problem names the fix: missing columns, NULL keys, unknown conditions, NaN log-probs,
positive log-probabilities of discrete tokens (logits or −log q stored by mistake), a wrong
``split_at`` and duplicated rows.
"""

from __future__ import annotations

import duckdb

from l2m_analysis.errors import InputError
from l2m_analysis.warehouse.schema import BULK_TABLES, CONDITIONS

COLUMNS = tuple(BULK_TABLES["token_logprobs"].names)
ROW_KEY = ("run_id", "sample_id", "condition", "split_at", "position")
KEY_COLUMNS = [*ROW_KEY, "token_id"]  # must not be NULL
# log q may round a hair above 0 for a near-certain token; more than this is a real error
LOGPROB_TOLERANCE = 1e-6


def validate_token_logprobs_sql(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Raise InputError naming the problem and the fix unless ``run_id``'s rows are valid."""
    columns = [r[0] for r in con.execute("DESCRIBE token_logprobs").fetchall()]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"token_logprobs lacks the columns {missing}",
            f"provide every column of the token_logprobs schema: {list(COLUMNS)}",
        )
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
    raise_for_problems(summary, f" of run {run_id!r}")


def raise_for_problems(s: dict, where: str) -> None:
    """The InputError for the first problem in a summary of counts (see the module doc)."""
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
