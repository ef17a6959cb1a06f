"""The warehouse's tables: one place that says what every column is.

Every table is a folder of Parquet files under ``<warehouse>_parquet/<table>/``, one folder per
run (``run_id=<id>/``), exposed to SQL as a view of the same name (``catalog.py``). Tables differ
only in how their files are written (``store.py``):

* **bulk tables** (``BULK_TABLES``: token_logprobs, token_kl, tokens, counts, training_curve)
  are appended batch by batch: a file per batch key, never rewritten, so a killed producer
  resumes where it stopped;
* **result tables** (``RESULT_TABLES``: runs, entropies, mi_estimates, fits,
  exact_position_metrics) hold one file per *partition* — the columns in ``PARTITIONS`` — and a
  step that recomputes a partition replaces exactly that file, never another.

``position_metrics`` is not a table: it is a view over ``token_logprobs`` and ``token_kl``
(``queries/staging/stg_position_metrics.sql``), so per-position KL and NLL are always the
query's answer over the stored tokens.

Units: log-probabilities, entropies, MI, NLL and KL are in nats. ``position`` is the 0-based
index of the scored token in its ORIGINAL sample (BOS excluded), so the Y-tokens of a pair keep
the same position in every condition and estimator SQL is a plain range filter.
"""

from __future__ import annotations

import json

import pyarrow as pa

# 2: every table in Parquet, the .duckdb file only a catalog of views; pair_id -> sample_id
SCHEMA_VERSION = 2

# The catalog file is created readable by DuckDB >= 1.5 (the `duckdb-cli` on PyPI is 1.5.x;
# the Python package's default format is newer and the CLI refuses it).
STORAGE_COMPATIBILITY = "v1.5.0"
CONNECT_CONFIG = {"storage_compatibility_version": STORAGE_COMPATIBILITY}

# Conditions under which a token's log-probability was scored (see docs/warehouse.md):
#   no_split  the whole sample, BOS + w_0 .. w_{n-1}: log q(w_pos | w_<pos)    (split_at = 0)
#   split     Y of sample i after X (length split_at) of ANOTHER sample: q(Y|X') (Eq. 7)
#   marginal  Y of sample i after BOS only: log q(Y)                            (Eq. 6)
CONDITIONS = ("no_split", "split", "marginal")

_TIMESTAMP = pa.timestamp("us")

BULK_TABLES: dict[str, pa.Schema] = {
    "token_logprobs": pa.schema(
        [
            ("run_id", pa.string()),
            ("sample_id", pa.int64()),  # sample index within the run; Y belongs to this sample
            ("condition", pa.string()),  # one of CONDITIONS
            ("split_at", pa.int32()),  # ℓ, tokens in X; 0 for no_split
            ("position", pa.int32()),  # index in the ORIGINAL sample, 0-based, BOS excluded
            ("token_id", pa.int64()),  # -1 for continuous (Gaussian) tokens
            ("logprob", pa.float64()),  # nats; a log-density for continuous tokens
        ]
    ),
    # the closed-form KL of a no_split token's conditional, where the producer knows p exactly
    # (pipelines.evaluate on the Gaussian): one row per token_logprobs row of the same run
    "token_kl": pa.schema(
        [
            ("run_id", pa.string()),
            ("sample_id", pa.int64()),
            ("position", pa.int32()),  # as in token_logprobs
            # KL(p(.|w_<pos) || q(.|w_<pos)) given the sample's own prefix, nats, summed over
            # the token's copies like its logprob (Eq. E.35's summand)
            ("kl", pa.float64()),
        ]
    ),
    "tokens": pa.schema(
        [
            ("run_id", pa.string()),  # the prepare_corpus run
            ("doc_id", pa.int64()),
            ("sample_id", pa.int64()),  # chunk index within the whole corpus run
            ("chunk_index", pa.int32()),  # chunk index within its document
            ("position", pa.int32()),  # 0-based within the sample
            ("token_id", pa.int64()),
        ]
    ),
    # n-gram counts as count-of-counts: `n_items` distinct keys were seen exactly `count` times.
    # order 1 = single tokens, order 2 = adjacent pairs. Enough for Grassberger entropies.
    "ngram_counts": pa.schema(
        [
            ("run_id", pa.string()),
            ("order", pa.int32()),
            ("count", pa.int64()),
            ("n_items", pa.int64()),
        ]
    ),
    # pair counts at distance d as count-of-counts, one row per (distance, count).
    # shuffled = True for the shuffle baseline (pairing destroyed, same marginals).
    "pair_counts": pa.schema(
        [
            ("run_id", pa.string()),
            ("distance", pa.int32()),
            ("shuffled", pa.bool_()),
            ("count", pa.int64()),
            ("n_items", pa.int64()),
        ]
    ),
    # a training run's curve, streamed as it trains: one row per logged step
    "training_curve": pa.schema(
        [
            ("run_id", pa.string()),  # the training run
            ("step", pa.int64()),  # optimizer steps done
            ("tokens", pa.int64()),  # training tokens seen so far
            ("split", pa.string()),  # train | eval
            ("loss", pa.float64()),  # nats per token (KL of Eq. E.35 or NLL)
            ("lr", pa.float64()),
            ("grad_norm", pa.float64()),  # before clipping
            ("elapsed_s", pa.float64()),  # wall seconds since the run (first) started
        ]
    ),
}

RESULT_TABLES: dict[str, pa.Schema] = {
    "runs": pa.schema(
        [
            ("run_id", pa.string()),  # letters, digits, _ . -; names the run's folders
            ("kind", pa.string()),  # planted | gaussian_exact | oracle | corpus | ...
            ("model", pa.string()),  # scoring model, NULL when none
            ("tokenizer", pa.string()),  # name and sha256 of the tokenizer file
            ("dataset", pa.string()),  # corpus or distribution family
            ("config", pa.string()),  # JSON: the producing run's full configuration
            ("seed", pa.int64()),
            ("package_version", pa.string()),
            ("git_commit", pa.string()),
            ("created_at", _TIMESTAMP),  # UTC
            ("updated_at", _TIMESTAMP),  # UTC, last status change
            ("status", pa.string()),  # running | complete | failed
            ("summary", pa.string()),  # JSON: what the run measured of itself (throughput...)
        ]
    ),
    "entropies": pa.schema(
        [
            ("run_id", pa.string()),
            ("source", pa.string()),  # corpus or distribution family
            ("quantity", pa.string()),  # unigram | adjacent_pair | pair_distance | entropy_rate
            ("distance", pa.int32()),  # d for pair_distance, NULL otherwise
            ("shuffled", pa.bool_()),
            ("estimator", pa.string()),  # grassberger | plugin | exact
            ("value", pa.float64()),  # nats
            ("stderr", pa.float64()),  # nats
            ("n", pa.int64()),  # number of observations (tokens or pairs)
            ("data_run_id", pa.string()),  # the run whose data were counted (e.g. the corpus)
        ]
    ),
    "mi_estimates": pa.schema(
        [
            ("run_id", pa.string()),
            ("source", pa.string()),  # corpus or distribution family
            ("quantity", pa.string()),  # bipartite | two_point
            # direct | direct_uncorrected | vclub | grassberger | grassberger_shuffled | exact
            # | exact_vclub | exact_pair_average (docs/warehouse.md)
            ("estimator", pa.string()),
            ("length", pa.int32()),  # L (bipartite), NULL for two_point
            ("split_at", pa.int32()),  # ℓ (bipartite), NULL for two_point
            ("ratio", pa.int32()),  # L/ℓ (bipartite), NULL for two_point
            ("distance", pa.int32()),  # d (two_point), NULL for bipartite
            ("value", pa.float64()),  # nats
            ("stderr", pa.float64()),  # nats, total; NULL for exact values
            ("stderr_common", pa.float64()),  # nats: the part of stderr shared by every point
            ("n", pa.int64()),  # pairs of samples (bipartite) or token pairs (two_point)
        ]
    ),
    "fits": pa.schema(
        [
            ("run_id", pa.string()),
            ("source", pa.string()),
            ("quantity", pa.string()),
            ("estimator", pa.string()),
            ("ratio", pa.int32()),  # NULL for two_point
            ("law", pa.string()),  # power | decay | log
            ("exponent", pa.float64()),  # β for power, α for decay, NULL for log
            ("exponent_lo", pa.float64()),  # 95% interval of the exponent (NULL: open end)
            ("exponent_hi", pa.float64()),
            ("amplitude", pa.float64()),  # A (power, decay) or a (log)
            ("offset_c", pa.float64()),  # C (decay) or b (log)
            ("r2", pa.float64()),
            ("aic", pa.float64()),
            ("bic", pa.float64()),
            ("n_points", pa.int32()),
            ("x_min", pa.float64()),
            ("x_max", pa.float64()),
            ("preferred_law", pa.string()),  # power | log (bipartite); decay (two_point)
            ("n_dropped", pa.int32()),  # points of the series not used by this fit
            ("drop_reason", pa.string()),  # why, NULL when none
            ("warnings", pa.list_(pa.string())),  # why the fit may not be informative
            ("detail", pa.string()),  # JSON: interval method, standard errors, ...
            ("created_at", _TIMESTAMP),
        ]
    ),
    # per-position KL and NLL known in closed form, with no samples behind them (the exact
    # unconditional Gaussian baseline of pipelines.evaluate); stg_position_metrics adds them
    "exact_position_metrics": pa.schema(
        [
            ("run_id", pa.string()),
            ("seq_len", pa.int32()),  # the length the curve is for
            ("position", pa.int32()),  # 0-based, BOS excluded
            ("kl", pa.float64()),  # nats per token, mean over the token's copies (Eq. E.36)
            ("nll", pa.float64()),  # nats per token, mean over the token's copies (Eq. E.38)
        ]
    ),
}

TABLES: dict[str, pa.Schema] = {**BULK_TABLES, **RESULT_TABLES}

# The columns whose values name one file of a result table: a step that recomputes the rows of
# one partition replaces that file and no other (docs/warehouse.md).
PARTITIONS: dict[str, tuple[str, ...]] = {
    "runs": ("run_id",),
    "entropies": ("run_id", "source", "quantity", "estimator"),
    "mi_estimates": ("run_id", "source", "quantity", "estimator"),
    "fits": ("run_id", "source", "quantity", "estimator", "ratio"),
    "exact_position_metrics": ("run_id", "seq_len"),
}


def run_config_of(run: dict) -> dict:
    """The ``config`` of a ``runs`` row (JSON text in the table), as a dict: the one reader of a
    run's config (``Warehouse.run_config(run_id)`` reads the row first)."""
    config = run.get("config")
    return json.loads(config or "{}") if isinstance(config, str) else dict(config or {})
