-- Bipartite mutual information I^BP_{ℓ;L} (nats) of every run, every scored split ℓ and every
-- ratio L/ℓ the run recorded (stg_run_ratios; 2, 3, 4 by default): the direct estimator (Eq. 6)
-- with and without the 2-gram correction of Appendix A.III (Eq. A.14), and the vCLUB estimator
-- (Eq. 7).
--
-- Reads: stg_bipartite_per_sample (the per-sample terms, from token_logprobs and the
-- adjacent-pair Grassberger entropy Ĥ_G(Y1, Y2) of Eq. A.12-A.13, stg_adjacent_pair_entropy).
-- Answer: the columns of mi_estimates except `source` (pipelines.bipartite_mi adds it):
--   run_id, quantity, estimator, length, split_at, ratio, value, stderr, stderr_common, n
--
-- X = w_0 .. w_{ℓ-1}, Y = w_ℓ .. w_{L-1}: Y's tokens keep their ORIGINAL positions ℓ ≤ pos < L in
-- every condition, so each estimator is a sum over a position range, then a mean over samples:
--   direct_uncorrected  Eq. (6)   mean[ Σ_Y log q(Y_i|X, Y_<i) − Σ_Y log q(Y_i|BOS, Y_<i) ]
--   direct              Eq. (6) with Eq. (A.14): the marginal's first two terms (positions ℓ, ℓ+1)
--                       are replaced by (their sum + 4·(−Ĥ_G(Y1, Y2)))/5, i.e. the cross entropy
--                       H(p_{Y1Y2}, q_{Y1Y2}|BOS)/5 + 4·Ĥ_G(Y1, Y2)/5 of Appx. A.III.
--                       No row when the run has no adjacent_pair/grassberger entropy (continuous
--                       tokens) or when Y has fewer than two tokens (ℓ = 1, L = 2).
--   vclub               Eq. (7)   mean[ Σ_Y log q(Y_i|X, Y_<i) − Σ_Y log q(Y_i|X', Y_<i) ], X' the
--                       prefix of another sample (condition 'split').
-- log q(Y|X) comes from the no_split rows (split_at = 0): with a causal model the log-prob of a
-- position ≥ ℓ given the whole prefix IS log q(Y_i|X, Y_<i), so one no_split scoring serves
-- every ℓ and L.
-- A sample counts for an estimator only when it has EVERY position ℓ..L-1 exactly once in both
-- conditions it uses; samples with missing positions (shorter samples) are left out, never summed
-- partially. stderr = stddev_samp / sqrt(n) over samples (NULL for n = 1); n = number of samples.
-- For `direct`, Ĥ_G's own standard error enters as a COMMON term: every sample, and every point
-- of the curve, shares the same Ĥ_G, so stderr = sqrt(var/n + (4/5 · se(Ĥ_G))²) and
-- stderr_common = 4/5 · se(Ĥ_G) (the part that does not average out and shifts every L alike).
-- mean over samples with its standard error (the common term of `direct` added in quadrature)
SELECT
    run_id,
    'bipartite' AS quantity,
    estimator,
    length,
    split_at,
    ratio,
    avg(sample_value) AS value,
    sqrt(var_samp(sample_value) / count(*) + coalesce(any_value(common_stderr), 0) ^ 2) AS stderr,
    any_value(common_stderr) AS stderr_common,
    count(*) AS n
FROM stg_bipartite_per_sample
GROUP BY run_id, estimator, length, split_at, ratio
ORDER BY run_id, estimator, ratio, split_at;
