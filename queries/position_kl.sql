-- Position-wise KL divergence D_KL^(i)(p||q) = E_p[log p(W_i|W_<i) − log q(W_i|W_<i)] (Eq. E.36),
-- nats per token (averaged over a token's copies, Eq. E.35), of every model run against its
-- reference run, whose log-probs are the exact log p of the same samples (e.g. an oracle run).
--
-- Reads: stg_model_runs (runs whose config names '$.reference_run_id'), stg_whole_samples
-- (no_split rows of both runs, matched on (sample_id, position)).
-- Answer: run_id, reference_run_id, model, seq_len, position, kl, kl_stderr, n, n_token_mismatch
--   seq_len           the model run's longest matched sample (max position + 1)
--   kl                mean over matched samples of log p − log q at that position
--   kl_stderr         stddev_samp / sqrt(n) over samples (NULL for n = 1); n = matched samples
--   n_token_mismatch  matched rows whose token ids differ: must be 0, else the two runs did
--                     not score the same samples and kl is meaningless
-- Runs without '$.reference_run_id' have no rows.
WITH
-- per token: log p − log q of the model's sample and the reference's same sample
matched AS (
    SELECT
        q.run_id, m.reference_run_id, m.model, q.position,
        (p.logprob - q.logprob) / q.copies AS log_ratio,
        p.token_id <> q.token_id AS token_mismatch
    FROM stg_whole_samples AS q
    JOIN stg_model_runs AS m ON m.run_id = q.run_id
    JOIN stg_whole_samples AS p
        ON p.run_id = m.reference_run_id
        AND p.sample_id = q.sample_id
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
