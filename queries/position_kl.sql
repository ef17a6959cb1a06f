-- Position-wise KL divergence D_KL^(i)(p||q) = E_p[log p(W_i|W_<i) − log q(W_i|W_<i)] (Eq. E.36),
-- nats per token, of every model run against its reference run, whose log-probs are the exact
-- log p of the same samples (e.g. an oracle or exact-Gaussian run).
--
-- Reads: runs (a model run names its reference in config: '$.reference_run_id'), token_logprobs
-- (no_split rows of both runs, matched on (pair_id, position)).
-- Answer: run_id, reference_run_id, model, seq_len, position, kl, kl_stderr, n, n_token_mismatch
--   seq_len           the model run's longest matched sample (max position + 1)
--   kl                mean over matched samples of log p − log q at that position
--   kl_stderr         stddev_samp / sqrt(n) over samples (NULL for n = 1); n = matched samples
--   n_token_mismatch  matched rows whose token ids differ: must be 0, else the two runs did
--                     not score the same samples and kl is meaningless
-- Runs without '$.reference_run_id' have no rows.
WITH
-- model runs and the run holding their exact log p
model_runs AS (
    SELECT run_id, model, json_extract_string(config, '$.reference_run_id') AS reference_run_id
    FROM runs
    WHERE json_extract_string(config, '$.reference_run_id') IS NOT NULL
),

-- log q(w_pos | w_<pos) of the model, whole samples
model_rows AS (
    SELECT
        t.run_id, m.reference_run_id, m.model, t.pair_id, t.position, t.token_id,
        t.logprob AS log_q
    FROM token_logprobs AS t
    JOIN model_runs AS m ON m.run_id = t.run_id
    WHERE t.condition = 'no_split'
),

-- log p(w_pos | w_<pos) of the same samples
reference_rows AS (
    SELECT run_id AS reference_run_id, pair_id, position, token_id, logprob AS log_p
    FROM token_logprobs
    WHERE condition = 'no_split'
),

-- per token: log p − log q
matched AS (
    SELECT
        q.run_id, q.reference_run_id, q.model, q.position,
        p.log_p - q.log_q AS log_ratio,
        p.token_id <> q.token_id AS token_mismatch
    FROM model_rows AS q
    JOIN reference_rows AS p
        ON p.reference_run_id = q.reference_run_id
        AND p.pair_id = q.pair_id
        AND p.position = q.position
),

-- Eq. (E.36): the mean over samples at each position
per_position AS (
    SELECT
        run_id,
        reference_run_id,
        any_value(model) AS model,
        position,
        avg(log_ratio) AS kl,
        stddev_samp(log_ratio) / sqrt(count(*)) AS kl_stderr,
        count(*) AS n,
        count(*) FILTER (WHERE token_mismatch) AS n_token_mismatch
    FROM matched
    GROUP BY run_id, reference_run_id, position
)

SELECT
    run_id,
    reference_run_id,
    model,
    CAST(max(position) OVER (PARTITION BY run_id) + 1 AS INTEGER) AS seq_len,
    position,
    kl,
    kl_stderr,
    n,
    n_token_mismatch
FROM per_position
ORDER BY run_id, position;
