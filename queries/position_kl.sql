-- Position-wise KL divergence D_KL^(i)(p||q) = E_p[log p(W_i|W_<i) − log q(W_i|W_<i)] (Eq. E.36),
-- nats per token (averaged over a token's copies, Eq. E.35), of every run whose p is known:
--   * analytic: the closed-form KL of each token given its sample's prefix (token_kl; trained
--     models evaluated on the Gaussian), averaged over samples;
--   * monte_carlo: the mean of log p − log q against the run's reference run, whose log-probs
--     are the exact log p of the same samples (stg_model_runs, e.g. an oracle run);
--   * closed_form: curves known exactly (the unconditional Gaussian baseline).
--
-- Reads: stg_position_kl (stg_position_metrics, token_kl, stg_reference_log_ratios), runs.
-- Answer: run_id, reference_run_id, model, seq_len, position, kl, kl_stderr, n,
--   n_token_mismatch, kl_method, mc_kl, mc_kl_stderr
--   seq_len           the run's longest sample (max position + 1)
--   kl, kl_stderr     mean over samples and stddev_samp / sqrt(n) (NULL for n = 1); n = samples
--   n_token_mismatch  reference rows whose token ids differ: must be 0, else the two runs did
--                     not score the same samples and mc_kl (and a Monte-Carlo kl) is meaningless
--   mc_kl             the Monte-Carlo KL wherever a reference run exists: beside an analytic kl,
--                     its check
-- Runs without a known p (no token_kl, no reference run) have no rows.
SELECT
    k.run_id,
    k.reference_run_id,
    r.model,
    k.seq_len,
    k.position,
    k.kl,
    k.kl_stderr,
    k.n,
    k.n_token_mismatch,
    k.kl_method,
    k.mc_kl,
    k.mc_kl_stderr
FROM stg_position_kl AS k
LEFT JOIN runs AS r ON r.run_id = k.run_id
ORDER BY k.run_id, k.seq_len, k.position;
