"""The warehouse's tables: one place that says what every column is.

Two kinds of table live in the warehouse:

* **bulk tables** (``PARQUET_TABLES``) are Parquet files under ``<warehouse>/parquet/<table>/``,
  partitioned by run (``run_id=<id>/``), appended batch by batch by producers, and exposed
  to SQL as DuckDB views of the same name;
* **result tables** (``DUCKDB_TABLES``) are ordinary DuckDB tables inside the database file.

Units: log-probabilities, entropies, MI, NLL and KL are in nats. ``position`` is the 0-based
index of the scored token in its ORIGINAL sample (BOS excluded), so the Y-tokens of a pair keep
the same position in every condition and estimator SQL is a plain range filter.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

# The database file is created readable by DuckDB >= 1.5 (the `duckdb-cli` on PyPI is 1.5.x;
# the Python package's default format is newer and the CLI refuses it). Applies at creation.
STORAGE_COMPATIBILITY = "v1.5.0"
CONNECT_CONFIG = {"storage_compatibility_version": STORAGE_COMPATIBILITY}

# Conditions under which a token's log-probability was scored (see docs/warehouse.md):
#   no_split  the whole sample, BOS + w_0 .. w_{n-1}: log q(w_pos | w_<pos)    (split_at = 0)
#   split     Y of pair i after X (length split_at) of ANOTHER sample: vCLUB's q(Y|X') (Eq. 7)
#   marginal  Y of pair i after BOS only: log q(Y)                              (Eq. 6)
CONDITIONS = ("no_split", "split", "marginal")

PARQUET_TABLES: dict[str, pa.Schema] = {
    "token_logprobs": pa.schema(
        [
            ("run_id", pa.string()),
            ("pair_id", pa.int64()),  # sample index within the run; Y belongs to this sample
            ("condition", pa.string()),  # one of CONDITIONS
            ("split_at", pa.int32()),  # ℓ, tokens in X; 0 for no_split
            ("position", pa.int32()),  # index in the ORIGINAL sample, 0-based, BOS excluded
            ("token_id", pa.int64()),  # -1 for continuous (Gaussian) tokens
            ("logprob", pa.float64()),  # nats; a log-density for continuous tokens
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
}

# DuckDB DDL for the result tables. Names and columns are a public contract: SQL in queries/
# written against one run works against every run.
DUCKDB_TABLES: dict[str, str] = {
    "runs": """
        CREATE TABLE IF NOT EXISTS runs (
            run_id          VARCHAR PRIMARY KEY,
            kind            VARCHAR NOT NULL,   -- planted | gaussian_exact | oracle | corpus | ...
            model           VARCHAR,            -- scoring model, NULL when none
            tokenizer       VARCHAR,            -- name and sha256 of the tokenizer file
            dataset         VARCHAR,            -- corpus or distribution family
            config          JSON,               -- the producing run's full configuration
            seed            BIGINT,
            package_version VARCHAR,
            git_commit      VARCHAR,
            created_at      TIMESTAMP DEFAULT current_timestamp,
            status          VARCHAR NOT NULL    -- running | complete | failed
        )""",
    "entropies": """
        CREATE TABLE IF NOT EXISTS entropies (
            run_id     VARCHAR NOT NULL,
            source     VARCHAR NOT NULL,   -- corpus or distribution family
            quantity   VARCHAR NOT NULL,   -- unigram | adjacent_pair | pair_distance
                                           -- | entropy_rate (Gaussian, n = L) | ...
            distance   INTEGER,            -- d for pair_distance, NULL otherwise
            shuffled   BOOLEAN DEFAULT false,
            estimator  VARCHAR NOT NULL,   -- grassberger | plugin | exact
            value      DOUBLE NOT NULL,    -- nats
            stderr     DOUBLE,             -- nats
            n          BIGINT              -- number of observations (tokens or pairs)
        )""",
    "mi_estimates": """
        CREATE TABLE IF NOT EXISTS mi_estimates (
            run_id    VARCHAR NOT NULL,
            source    VARCHAR NOT NULL,   -- corpus or distribution family
            quantity  VARCHAR NOT NULL,   -- bipartite | two_point
            estimator VARCHAR NOT NULL,   -- direct | direct_uncorrected | vclub | grassberger
                                          -- | grassberger_shuffled | exact | exact_vclub
                                          -- | exact_pair_average (docs/warehouse.md)
            length    INTEGER,            -- L (bipartite), NULL for two_point
            split_at  INTEGER,            -- ℓ (bipartite), NULL for two_point
            ratio     INTEGER,            -- L/ℓ (bipartite), NULL for two_point
            distance  INTEGER,            -- d (two_point), NULL for bipartite
            value     DOUBLE NOT NULL,    -- nats
            stderr    DOUBLE,             -- nats; NULL for exact
            n         BIGINT              -- pairs of samples (bipartite) or token pairs (two_point)
        )""",
    "fits": """
        CREATE TABLE IF NOT EXISTS fits (
            run_id        VARCHAR NOT NULL,
            source        VARCHAR NOT NULL,
            quantity      VARCHAR NOT NULL,
            estimator     VARCHAR NOT NULL,
            ratio         INTEGER,          -- NULL for two_point
            law           VARCHAR NOT NULL, -- power | decay | log
            exponent      DOUBLE,           -- β for power, α for decay, NULL for log
            exponent_lo   DOUBLE,           -- 95% interval of the exponent
            exponent_hi   DOUBLE,
            amplitude     DOUBLE,           -- A (power, decay) or a (log)
            offset_c      DOUBLE,           -- C (decay) or b (log)
            r2            DOUBLE,
            aic           DOUBLE,
            bic           DOUBLE,
            n_points      INTEGER,
            x_min         DOUBLE,
            x_max         DOUBLE,
            preferred_law VARCHAR,          -- power | log (bipartite); decay (two_point)
            detail        JSON,
            created_at    TIMESTAMP DEFAULT current_timestamp
        )""",
    "position_metrics": """
        CREATE TABLE IF NOT EXISTS position_metrics (
            run_id   VARCHAR NOT NULL,
            model    VARCHAR,
            seq_len  INTEGER NOT NULL,
            position INTEGER NOT NULL,   -- 0-based, BOS excluded
            kl       DOUBLE,             -- nats per token (Eq. E.36), NULL when p is unknown
            nll      DOUBLE              -- nats per token (Eq. E.38)
        )""",
}

# Bookkeeping tables (underscore: not part of the research schema).
META_TABLES: dict[str, str] = {
    "_meta": "CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # one row per committed Parquet batch; a batch is visible only once it is recorded here
    "_batches": """
        CREATE TABLE IF NOT EXISTS _batches (
            table_name   VARCHAR NOT NULL,
            run_id       VARCHAR NOT NULL,
            batch_key    VARCHAR NOT NULL,
            path         VARCHAR NOT NULL,  -- relative to the warehouse folder
            n_rows       BIGINT NOT NULL,
            committed_at TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (table_name, run_id, batch_key)
        )""",
}
