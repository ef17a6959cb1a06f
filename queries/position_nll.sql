-- Position-wise negative log-likelihood NLL^(i)(p||q) = −E_p[log q(W_i|W_<i)] (Eq. E.38), nats
-- per token (averaged over a token's copies, Eq. E.35), for every run and every position of its
-- whole-sample (no_split) scoring: scored runs (oracle, LLM) and evaluated trained models alike,
-- plus curves known in closed form (the unconditional Gaussian baseline).
--
-- Reads: stg_position_metrics (token_logprobs no_split rows, exact_position_metrics, runs).
-- Answer: run_id, model, seq_len, position, nll, nll_stderr, n
--   seq_len     the run's longest scored sample (max position + 1)
--   position    0-based index of the scored token, BOS excluded (i = position + 1 in Eq. E.38)
--   nll         −mean over samples of log q at that position
--   nll_stderr  stddev_samp / sqrt(n) over samples (NULL for n = 1); n = samples scored there
--               (NULL, and stderr 0, for a closed-form curve)
-- For continuous (Gaussian) tokens log q is a log-density and nll a differential cross entropy.
SELECT
    run_id,
    model,
    seq_len,
    position,
    nll,
    nll_stderr,
    n
FROM stg_position_metrics
ORDER BY run_id, seq_len, position;
