-- Staging: position-wise NLL (Eq. E.38) of every run, and its KL divergence (Eq. E.36) where it
-- is known without pairing runs, in nats per token averaged over the token's copies (Eq. E.35):
-- the one definition that position_nll.sql, the training_* queries (through stg_evaluations),
-- stg_position_kl, stg_run_metrics and the position_metrics view read.
--   * Runs with token rows: means over samples of their whole-sample (no_split) rows; kl is the
--     mean of the closed-form KL of each token given its sample's prefix (token_kl, written by
--     a producer that knows p exactly: pipelines.evaluate on the Gaussian), NULL without it.
--   * Curves known in closed form, with no samples behind them (exact_position_metrics: the
--     unconditional Gaussian baseline).
-- The Monte-Carlo KL against a reference run (a join of two runs' tokens) is stg_position_kl.
--
-- Reads: stg_whole_samples, token_kl, exact_position_metrics, runs.
-- Answer: run_id, model, train_length, seq_len, position, nll, nll_stderr, n, kl, kl_stderr,
--   kl_n, kl_method, samples_digest
--   seq_len       the run's longest scored sample (max position + 1), or the closed-form length
--   position      0-based index of the scored token, BOS excluded (i = position + 1 in E.36)
--   n, kl_n       samples behind nll and behind kl at this position (NULL for closed forms)
--   *_stderr      stddev_samp / sqrt(samples) (NULL for one sample; 0 for closed forms)
--   kl_method     'analytic' (token_kl), 'closed_form' (exact_position_metrics) or NULL
--   model, train_length, samples_digest  the run's model, and its config's '$.train_length'
--                 and '$.samples_digest' (evaluation runs)
WITH
-- Eq. (E.38): the mean over samples at each position
nll AS (
    SELECT
        run_id,
        position,
        any_value(copies) AS copies,
        -avg(logprob / copies) AS nll,
        stddev_samp(logprob / copies) / sqrt(count(*)) AS nll_stderr,
        count(*) AS n
    FROM stg_whole_samples
    GROUP BY run_id, position
),

-- Eq. (E.36) in closed form given each sample's prefix: summed over copies here, divided below
analytic AS (
    SELECT
        run_id,
        position,
        avg(kl) AS kl_sum,
        stddev_samp(kl) / sqrt(count(*)) AS kl_sum_stderr,
        count(*) AS kl_n
    FROM token_kl
    GROUP BY run_id, position
),

from_tokens AS (
    SELECT
        n.run_id,
        CAST(max(n.position) OVER (PARTITION BY n.run_id) + 1 AS INTEGER) AS seq_len,
        n.position,
        n.nll,
        n.nll_stderr,
        n.n,
        a.kl_sum / n.copies AS kl,
        a.kl_sum_stderr / n.copies AS kl_stderr,
        a.kl_n,
        CASE WHEN a.kl_n IS NOT NULL THEN 'analytic' END AS kl_method
    FROM nll AS n
    LEFT JOIN analytic AS a ON a.run_id = n.run_id AND a.position = n.position
),

-- curves known exactly: no samples, no spread
closed_form AS (
    SELECT
        run_id, seq_len, position, nll, 0.0 AS nll_stderr, CAST(NULL AS BIGINT) AS n, kl,
        0.0 AS kl_stderr, CAST(NULL AS BIGINT) AS kl_n, 'closed_form' AS kl_method
    FROM exact_position_metrics
),

metrics AS (
    SELECT * FROM from_tokens
    UNION ALL
    SELECT * FROM closed_form
)

SELECT
    m.run_id,
    r.model,
    CAST(json_extract(r.config, '$.train_length') AS INTEGER) AS train_length,
    m.seq_len,
    m.position,
    m.nll,
    m.nll_stderr,
    m.n,
    m.kl,
    m.kl_stderr,
    m.kl_n,
    m.kl_method,
    json_extract_string(r.config, '$.samples_digest') AS samples_digest
FROM metrics AS m
LEFT JOIN runs AS r ON r.run_id = m.run_id;
