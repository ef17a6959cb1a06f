-- Average NLL (Eq. E.39) and average KL divergence (Eq. E.37) of every run, nats per token
-- (averaged over a token's copies, Eq. E.35): the mean over positions i = 1..L of the
-- position-wise values of position_nll.sql (Eq. E.38) and position_kl.sql (Eq. E.36),
-- L = seq_len, with standard errors over samples.
--
-- Reads: stg_run_metrics (over stg_position_metrics: NLL, and the KL known in closed form),
-- stg_reference_log_ratios (the Monte-Carlo KL against a run's reference run), runs (model).
-- Answer: run_id, model, reference_run_id, seq_len, avg_nll, avg_kl, avg_nll_stderr,
--   avg_kl_stderr, kl_method, avg_mc_kl, n_samples
--   avg_kl     the closed-form KL's average where the run has one, else the Monte-Carlo one;
--              NULL for runs whose p is unknown (no token_kl, no reference run)
--   kl_method  'analytic', 'closed_form' or 'monte_carlo' (as in position_kl.sql)
--   avg_mc_kl  the Monte-Carlo KL's average where a reference run exists (checks an analytic
--              avg_kl)
--   *_stderr   stddev_samp / sqrt(n) of each sample's average over positions (NULL for curves
--              known in closed form, which have no samples)
-- Each position weighs 1/L whatever the number of samples scored there (Eq. E.37, E.39).
WITH
-- log p − log q of every matched token, computed once (a join of two runs' tokens)
ratios AS MATERIALIZED (
    SELECT run_id, reference_run_id, sample_id, position, log_ratio
    FROM stg_reference_log_ratios
),

-- Eq. (E.37) of the Monte-Carlo KL: the mean over positions of the means over samples
monte_carlo AS (
    SELECT run_id, any_value(reference_run_id) AS reference_run_id, avg(kl) AS avg_mc_kl
    FROM (
        SELECT run_id, any_value(reference_run_id) AS reference_run_id, avg(log_ratio) AS kl
        FROM ratios
        GROUP BY run_id, position
    )
    GROUP BY run_id
),

-- its standard error: over each sample's own average
monte_carlo_error AS (
    SELECT run_id, stddev_samp(kl) / sqrt(count(*)) AS avg_mc_kl_stderr
    FROM (SELECT run_id, avg(log_ratio) AS kl FROM ratios GROUP BY run_id, sample_id)
    GROUP BY run_id
)

SELECT
    a.run_id,
    r.model,
    m.reference_run_id,
    a.seq_len,
    a.avg_nll,
    coalesce(a.avg_kl, m.avg_mc_kl) AS avg_kl,
    a.avg_nll_stderr,
    CASE WHEN a.avg_kl IS NOT NULL THEN a.avg_kl_stderr ELSE e.avg_mc_kl_stderr END
        AS avg_kl_stderr,
    coalesce(a.kl_method, CASE WHEN m.avg_mc_kl IS NOT NULL THEN 'monte_carlo' END)
        AS kl_method,
    m.avg_mc_kl,
    a.n_samples
FROM stg_run_metrics AS a
LEFT JOIN monte_carlo AS m ON m.run_id = a.run_id
LEFT JOIN monte_carlo_error AS e ON e.run_id = a.run_id
LEFT JOIN runs AS r ON r.run_id = a.run_id
ORDER BY a.run_id, a.seq_len;
