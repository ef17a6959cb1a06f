-- Position-wise negative log-likelihood NLL^(i)(p||q) = −E_p[log q(W_i|W_<i)] (Eq. E.38), nats
-- per token (averaged over a token's copies, Eq. E.35), for every run and every position of its
-- whole-sample (no_split) scoring.
--
-- Reads: stg_whole_samples (token_logprobs, no_split rows), runs (model name).
-- Answer: run_id, model, seq_len, position, nll, nll_stderr, n
--   seq_len     the run's longest scored sample (max position + 1)
--   position    0-based index of the scored token, BOS excluded (i = position + 1 in Eq. E.38)
--   nll         −mean over samples of log q at that position
--   nll_stderr  stddev_samp / sqrt(n) over samples (NULL for n = 1); n = samples scored there
-- For continuous (Gaussian) tokens log q is a log-density and nll a differential cross entropy.
WITH
-- Eq. (E.38): the mean over samples at each position
per_position AS (
    SELECT
        run_id,
        position,
        -avg(logprob / copies) AS nll,
        stddev_samp(logprob / copies) / sqrt(count(*)) AS nll_stderr,
        count(*) AS n
    FROM stg_whole_samples
    GROUP BY run_id, position
)

SELECT
    p.run_id,
    r.model,
    CAST(max(p.position) OVER (PARTITION BY p.run_id) + 1 AS INTEGER) AS seq_len,
    p.position,
    p.nll,
    p.nll_stderr,
    p.n
FROM per_position AS p
LEFT JOIN runs AS r ON r.run_id = p.run_id
ORDER BY p.run_id, p.position;
