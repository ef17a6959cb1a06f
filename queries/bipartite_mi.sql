-- Bipartite mutual information I^BP_{ℓ;L} (nats) of every run, every scored split ℓ and every
-- ratio L/ℓ in {2, 3, 4}: the direct estimator (Eq. 6) with and without the 2-gram correction of
-- Appendix A.III (Eq. A.14), and the vCLUB estimator (Eq. 7).
--
-- Reads: token_logprobs (one row per scored token, see l2m_analysis/warehouse/schema.py) and the
-- adjacent-pair Grassberger entropy Ĥ_G(Y1, Y2) (Eq. A.12-A.13), stg_adjacent_pair_entropy.
-- Answer: the columns of mi_estimates except `source` (pipelines.bipartite_mi adds it):
--   run_id, quantity, estimator, length, split_at, ratio, value, stderr, stderr_common, n
--
-- X = w_0 .. w_{ℓ-1}, Y = w_ℓ .. w_{L-1}: Y's tokens keep their ORIGINAL positions ℓ ≤ pos < L in
-- every condition, so each estimator is a sum over a position range, then a mean over pairs:
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
-- A pair counts for an estimator only when it has EVERY position ℓ..L-1 exactly once in both
-- conditions it uses; pairs with missing positions (shorter samples) are left out, never summed
-- partially. stderr = stddev_samp / sqrt(n) over pairs (NULL for n = 1); n = number of pairs.
-- For `direct`, Ĥ_G's own standard error enters as a COMMON term: every pair, and every point
-- of the curve, shares the same Ĥ_G, so stderr = sqrt(var/n + (4/5 · se(Ĥ_G))²) and
-- stderr_common = 4/5 · se(Ĥ_G) (the part that does not average out and shifts every L alike).
WITH
-- the ratios L/ℓ reported (Fig. 3)
ratios (ratio) AS (
    VALUES (2), (3), (4)
),

-- every split ℓ scored for a run (it has marginal and/or split rows)
splits AS (
    SELECT DISTINCT run_id, split_at
    FROM token_logprobs
    WHERE condition IN ('marginal', 'split')
),

-- the windows (ℓ, L = ratio·ℓ) asked for
windows AS (
    SELECT s.run_id, s.split_at, r.ratio, s.split_at * r.ratio AS length
    FROM splits AS s
    CROSS JOIN ratios AS r
),

-- the Y-rows of every window, ℓ ≤ position < L: no_split rows serve every window of their run,
-- marginal and split rows only the windows of their own ℓ
y_rows AS (
    SELECT w.run_id, w.split_at, w.ratio, w.length, t.sample_id, t.condition, t.position, t.logprob
    FROM windows AS w
    JOIN token_logprobs AS t
        ON t.run_id = w.run_id AND t.position >= w.split_at AND t.position < w.length
    WHERE t.condition = 'no_split'
    UNION ALL
    SELECT w.run_id, w.split_at, w.ratio, w.length, t.sample_id, t.condition, t.position, t.logprob
    FROM windows AS w
    JOIN token_logprobs AS t
        ON t.run_id = w.run_id AND t.split_at = w.split_at
        AND t.position >= w.split_at AND t.position < w.length
    WHERE t.condition IN ('marginal', 'split')
),

-- per pair and condition: Σ_Y log q over the window (complete windows only), and the sum of
-- the first two Y log-probs (positions ℓ, ℓ+1) for the 2-gram correction of Eq. (A.14)
pair_sums AS (
    SELECT
        run_id, split_at, ratio, length, sample_id, condition,
        sum(logprob) AS y_logprob,
        sum(logprob) FILTER (WHERE position < split_at + 2) AS first_two_logprob
    FROM y_rows
    GROUP BY run_id, split_at, ratio, length, sample_id, condition
    HAVING count(*) = length - split_at AND count(DISTINCT position) = length - split_at
),

-- one row per pair: its sums under each condition (NULL where that condition is incomplete)
pair_terms AS (
    SELECT
        run_id, split_at, ratio, length, sample_id,
        any_value(y_logprob) FILTER (WHERE condition = 'no_split') AS log_q_y_given_x,
        any_value(y_logprob) FILTER (WHERE condition = 'marginal') AS log_q_y,
        any_value(first_two_logprob) FILTER (WHERE condition = 'marginal') AS log_q_y1_y2,
        any_value(y_logprob) FILTER (WHERE condition = 'split') AS log_q_y_given_other_x
    FROM pair_sums
    GROUP BY run_id, split_at, ratio, length, sample_id
),

-- per-pair estimates of each estimator
pair_mi AS (
    -- Eq. (6), uncorrected
    SELECT run_id, split_at, ratio, length, 'direct_uncorrected' AS estimator,
        log_q_y_given_x - log_q_y AS pair_value, NULL AS common_stderr
    FROM pair_terms
    WHERE log_q_y_given_x IS NOT NULL AND log_q_y IS NOT NULL
    UNION ALL
    -- Eq. (6) with the 2-gram correction, Eq. (A.14)
    SELECT p.run_id, p.split_at, p.ratio, p.length, 'direct' AS estimator,
        p.log_q_y_given_x
        - (p.log_q_y - p.log_q_y1_y2 + (p.log_q_y1_y2 + 4 * (-h.h_2gram)) / 5) AS pair_value,
        4 * h.h_2gram_stderr / 5 AS common_stderr
    FROM pair_terms AS p
    JOIN stg_adjacent_pair_entropy AS h ON h.run_id = p.run_id
    WHERE p.log_q_y_given_x IS NOT NULL AND p.log_q_y IS NOT NULL
        AND p.length - p.split_at >= 2
    UNION ALL
    -- Eq. (7), vCLUB
    SELECT run_id, split_at, ratio, length, 'vclub' AS estimator,
        log_q_y_given_x - log_q_y_given_other_x AS pair_value, NULL AS common_stderr
    FROM pair_terms
    WHERE log_q_y_given_x IS NOT NULL AND log_q_y_given_other_x IS NOT NULL
)

-- mean over pairs with its standard error (the common term of `direct` added in quadrature)
SELECT
    run_id,
    'bipartite' AS quantity,
    estimator,
    length,
    split_at,
    ratio,
    avg(pair_value) AS value,
    sqrt(var_samp(pair_value) / count(*) + coalesce(any_value(common_stderr), 0) ^ 2) AS stderr,
    any_value(common_stderr) AS stderr_common,
    count(*) AS n
FROM pair_mi
GROUP BY run_id, estimator, length, split_at, ratio
ORDER BY run_id, estimator, ratio, split_at;
