-- Staging: the average NLL (Eq. E.39) and, where it is known without pairing runs, the average
-- KL divergence (Eq. E.37) of every run, in nats per token averaged over the token's copies:
-- the mean over positions i = 1..L of stg_position_metrics (each position weighs 1/L whatever
-- the number of samples scored there), with standard errors over samples, stddev_samp / sqrt(n)
-- of each sample's own average over positions (positions share samples, so their errors do not
-- add up independently). average_metrics.sql adds the Monte-Carlo KL of runs with a reference.
--
-- Reads: stg_position_metrics, stg_whole_samples, token_kl.
-- Answer: run_id, seq_len, avg_nll, avg_nll_stderr, avg_kl, avg_kl_stderr, kl_method, n_samples
--   kl_method  as in stg_position_metrics; avg_kl is NULL when the run has no such KL
--   *_stderr, n_samples  NULL for curves known in closed form (no samples)
WITH
-- Eqs. (E.37), (E.39): means over positions
means AS (
    SELECT
        run_id,
        seq_len,
        avg(nll) AS avg_nll,
        avg(kl) AS avg_kl,
        any_value(kl_method) AS kl_method
    FROM stg_position_metrics
    GROUP BY run_id, seq_len
),

-- each sample's average over its positions
per_sample_nll AS (
    SELECT run_id, sample_id, any_value(copies) AS copies, -avg(logprob / copies) AS nll
    FROM stg_whole_samples
    GROUP BY run_id, sample_id
),

per_sample_analytic AS (
    SELECT run_id, sample_id, avg(kl) AS kl_sum
    FROM token_kl
    GROUP BY run_id, sample_id
),

errors AS (
    SELECT
        n.run_id,
        stddev_samp(n.nll) / sqrt(count(*)) AS avg_nll_stderr,
        stddev_samp(a.kl_sum / n.copies) / sqrt(count(a.kl_sum)) AS avg_kl_stderr,
        count(*) AS n_samples
    FROM per_sample_nll AS n
    LEFT JOIN per_sample_analytic AS a ON a.run_id = n.run_id AND a.sample_id = n.sample_id
    GROUP BY n.run_id
)

SELECT
    m.run_id,
    m.seq_len,
    m.avg_nll,
    e.avg_nll_stderr,
    m.avg_kl,
    e.avg_kl_stderr,
    m.kl_method,
    e.n_samples
FROM means AS m
LEFT JOIN errors AS e ON e.run_id = m.run_id;
