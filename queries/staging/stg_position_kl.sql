-- Staging: the position-wise KL divergence (Eq. E.36) of every run whose p is known, in nats per
-- token averaged over the token's copies (Eq. E.35): the closed-form one where the run has it
-- (stg_position_metrics: token_kl, or a closed-form curve), else the Monte-Carlo mean over
-- samples of log p − log q against the run's reference run (stg_reference_log_ratios); and that
-- Monte-Carlo KL beside a closed-form one, as its check. What position_kl.sql, average_metrics.sql
-- and the position_metrics view read.
--
-- Reads: stg_position_metrics, stg_reference_log_ratios.
-- Answer: run_id, reference_run_id, seq_len, position, kl, kl_stderr, n, kl_method, mc_kl,
--   mc_kl_stderr, n_token_mismatch
--   kl_method         'analytic', 'closed_form' or 'monte_carlo'
--   n                 samples behind kl (NULL for a closed-form curve)
--   mc_kl             the Monte-Carlo KL wherever the run names a reference run
--   n_token_mismatch  matched rows whose token ids differ: must be 0, else mc_kl means nothing
WITH
-- Eq. (E.36) as the mean over samples of log p − log q
monte_carlo AS (
    SELECT
        run_id,
        any_value(reference_run_id) AS reference_run_id,
        position,
        avg(log_ratio) AS mc_kl,
        stddev_samp(log_ratio) / sqrt(count(*)) AS mc_kl_stderr,
        count(*) AS mc_n,
        count(*) FILTER (WHERE token_mismatch) AS n_token_mismatch
    FROM stg_reference_log_ratios
    GROUP BY run_id, position
),

known AS (
    SELECT run_id, seq_len, position, kl, kl_stderr, kl_n, kl_method
    FROM stg_position_metrics
    WHERE kl IS NOT NULL
)

SELECT
    coalesce(k.run_id, m.run_id) AS run_id,
    m.reference_run_id,
    coalesce(
        k.seq_len, CAST(max(m.position) OVER (PARTITION BY m.run_id) + 1 AS INTEGER)
    ) AS seq_len,
    coalesce(k.position, m.position) AS position,
    coalesce(k.kl, m.mc_kl) AS kl,
    CASE WHEN k.kl IS NOT NULL THEN k.kl_stderr ELSE m.mc_kl_stderr END AS kl_stderr,
    CASE WHEN k.kl IS NOT NULL THEN k.kl_n ELSE m.mc_n END AS n,
    coalesce(k.kl_method, 'monte_carlo') AS kl_method,
    m.mc_kl,
    m.mc_kl_stderr,
    m.n_token_mismatch
FROM known AS k
FULL JOIN monte_carlo AS m ON m.run_id = k.run_id AND m.position = k.position;
