-- Average NLL (Eq. E.39) and average KL divergence (Eq. E.37) of every run, nats per token
-- (averaged over a token's copies, Eq. E.35):
-- the mean over positions i = 1..L of the position-wise values of position_nll.sql (Eq. E.38)
-- and position_kl.sql (Eq. E.36), L = seq_len.
--
-- Reads: stg_whole_samples (token_logprobs, no_split rows), stg_model_runs (the reference run
-- named in a run's config), runs (model name).
-- Answer: run_id, model, reference_run_id, seq_len, avg_nll, avg_kl
--   avg_kl is NULL for runs without a reference run (exact log p unknown).
-- Each position weighs 1/L whatever the number of samples scored there (Eq. E.37, E.39).
WITH
-- Eq. (E.38)
nll_per_position AS (
    SELECT run_id, position, -avg(logprob / copies) AS nll
    FROM stg_whole_samples
    GROUP BY run_id, position
),

-- Eq. (E.36): mean of log p − log q over samples matched on (sample_id, position)
kl_per_position AS (
    SELECT q.run_id, q.position, avg((p.logprob - q.logprob) / q.copies) AS kl
    FROM stg_whole_samples AS q
    JOIN stg_model_runs AS m ON m.run_id = q.run_id
    JOIN stg_whole_samples AS p
        ON p.run_id = m.reference_run_id AND p.sample_id = q.sample_id AND p.position = q.position
    GROUP BY q.run_id, q.position
)

-- Eq. (E.37), (E.39): means over positions
SELECT
    n.run_id,
    any_value(r.model) AS model,
    any_value(m.reference_run_id) AS reference_run_id,
    CAST(max(n.position) + 1 AS INTEGER) AS seq_len,
    avg(n.nll) AS avg_nll,
    avg(k.kl) AS avg_kl
FROM nll_per_position AS n
LEFT JOIN kl_per_position AS k ON k.run_id = n.run_id AND k.position = n.position
LEFT JOIN runs AS r ON r.run_id = n.run_id
LEFT JOIN stg_model_runs AS m ON m.run_id = n.run_id
GROUP BY n.run_id
ORDER BY n.run_id;
