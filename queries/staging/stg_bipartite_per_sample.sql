-- Staging: the per-sample terms of the bipartite MI estimators (nats), one row per run, split ℓ,
-- ratio L/ℓ (those the run recorded, stg_run_ratios), estimator and sample: the values bipartite_mi.sql averages, and what a
-- bootstrap over samples resamples (every point of a curve shares the same samples).
--
-- Reads: token_logprobs, stg_run_ratios (the run's ratios L/ℓ), stg_adjacent_pair_entropy (Ĥ_G
-- for the 2-gram correction).
-- Answer: run_id, estimator, length, split_at, ratio, sample_id, sample_value, common_stderr
--   sample_value     the sample's estimate (see queries/bipartite_mi.sql for each formula)
--   common_stderr  4/5 · se(Ĥ_G) for `direct` (shared by every sample and point), else NULL
-- A sample counts for an estimator only when it has EVERY position ℓ..L-1 exactly once in both
-- conditions it uses; samples with missing positions are left out, never summed partially.
WITH
-- every split ℓ scored for a run (it has marginal and/or split rows)
splits AS (
    SELECT DISTINCT run_id, split_at
    FROM token_logprobs
    WHERE condition IN ('marginal', 'split')
),

-- the windows (ℓ, L = ratio·ℓ) asked for: each split with each of its run's ratios
windows AS (
    SELECT s.run_id, s.split_at, r.ratio, s.split_at * r.ratio AS length
    FROM splits AS s
    JOIN stg_run_ratios AS r ON r.run_id = s.run_id
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

-- per sample and condition: Σ_Y log q over the window (complete windows only), and the sum of
-- the first two Y log-probs (positions ℓ, ℓ+1) for the 2-gram correction of Eq. (A.14)
sample_sums AS (
    SELECT
        run_id, split_at, ratio, length, sample_id, condition,
        sum(logprob) AS y_logprob,
        sum(logprob) FILTER (WHERE position < split_at + 2) AS first_two_logprob
    FROM y_rows
    GROUP BY run_id, split_at, ratio, length, sample_id, condition
    HAVING count(*) = length - split_at AND count(DISTINCT position) = length - split_at
),

-- one row per sample: its sums under each condition (NULL where that condition is incomplete)
sample_terms AS (
    SELECT
        run_id, split_at, ratio, length, sample_id,
        any_value(y_logprob) FILTER (WHERE condition = 'no_split') AS log_q_y_given_x,
        any_value(y_logprob) FILTER (WHERE condition = 'marginal') AS log_q_y,
        any_value(first_two_logprob) FILTER (WHERE condition = 'marginal') AS log_q_y1_y2,
        any_value(y_logprob) FILTER (WHERE condition = 'split') AS log_q_y_given_other_x
    FROM sample_sums
    GROUP BY run_id, split_at, ratio, length, sample_id
),

-- per-sample estimates of each estimator
sample_mi AS (
    -- Eq. (6), uncorrected
    SELECT run_id, split_at, ratio, length, sample_id, 'direct_uncorrected' AS estimator,
        log_q_y_given_x - log_q_y AS sample_value, CAST(NULL AS DOUBLE) AS common_stderr
    FROM sample_terms
    WHERE log_q_y_given_x IS NOT NULL AND log_q_y IS NOT NULL
    UNION ALL
    -- Eq. (6) with the 2-gram correction, Eq. (A.14)
    SELECT p.run_id, p.split_at, p.ratio, p.length, p.sample_id, 'direct' AS estimator,
        p.log_q_y_given_x
        - (p.log_q_y - p.log_q_y1_y2 + (p.log_q_y1_y2 + 4 * (-h.h_2gram)) / 5) AS sample_value,
        4 * h.h_2gram_stderr / 5 AS common_stderr
    FROM sample_terms AS p
    JOIN stg_adjacent_pair_entropy AS h ON h.run_id = p.run_id
    WHERE p.log_q_y_given_x IS NOT NULL AND p.log_q_y IS NOT NULL
        AND p.length - p.split_at >= 2
    UNION ALL
    -- Eq. (7), vCLUB
    SELECT run_id, split_at, ratio, length, sample_id, 'vclub' AS estimator,
        log_q_y_given_x - log_q_y_given_other_x AS sample_value, CAST(NULL AS DOUBLE) AS common_stderr
    FROM sample_terms
    WHERE log_q_y_given_x IS NOT NULL AND log_q_y_given_other_x IS NOT NULL
)

SELECT run_id, estimator, length, split_at, ratio, sample_id, sample_value, common_stderr
FROM sample_mi;
