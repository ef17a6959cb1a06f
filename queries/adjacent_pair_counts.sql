-- Count-of-counts of adjacent token pairs (w_pos, w_{pos+1}) of every discrete scored run, the
-- input of the Grassberger entropy Ĥ_G(Y1, Y2) (Eq. A.12-A.13) used by the 2-gram correction of
-- the direct bipartite estimator (Appendix A.III, Eq. A.14).
--
-- Reads: stg_whole_samples (token_logprobs, no_split rows: each sample scored whole, so every
-- adjacent pair of every sample is there). Tokens are paired only within one sample_id and
-- only when the two positions are consecutive. Continuous tokens (token_id = -1) are skipped.
-- This is the fallback input of the 2-gram correction; pipelines.bipartite_mi prefers the
-- corpus the run was scored from (its ngram_counts, order 2).
-- Answer: run_id, count, n_items  (n_items distinct adjacent pairs were seen exactly `count`
-- times), the layout of ngram_counts, ready for entropy_grassberger(count, n_items).
WITH
-- the token ids of each sample, in order
sample_tokens AS (
    SELECT run_id, sample_id, position, token_id
    FROM stg_whole_samples
    WHERE token_id >= 0
),

-- each token with its successor in the same sample
successors AS (
    SELECT
        run_id,
        position,
        token_id AS first_token,
        lead(token_id) OVER (PARTITION BY run_id, sample_id ORDER BY position) AS second_token,
        lead(position) OVER (PARTITION BY run_id, sample_id ORDER BY position) AS next_position
    FROM sample_tokens
),

-- how often each distinct adjacent pair occurs
adjacent_counts AS (
    SELECT run_id, first_token, second_token, count(*) AS count
    FROM successors
    WHERE next_position = position + 1
    GROUP BY run_id, first_token, second_token
)

-- count-of-counts
SELECT run_id, count, count(*) AS n_items
FROM adjacent_counts
GROUP BY run_id, count
ORDER BY run_id, count;
