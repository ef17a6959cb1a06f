-- Staging: log p − log q of every whole-sample token of a model run whose config names a
-- reference run holding the exact log p of the same samples (stg_model_runs: an oracle run, or
-- the exact-p run pipelines.evaluate writes beside a Gaussian evaluation), matched on
-- (sample_id, position): the Monte-Carlo summand of the KL of Eq. (E.36), in nats per token
-- averaged over the token's copies (Eq. E.35).
--
-- Reads: stg_whole_samples (no_split rows of both runs), stg_model_runs.
-- Answer: run_id, reference_run_id, sample_id, position, log_ratio, token_mismatch
--   token_mismatch  the two rows hold different token ids: the runs did not score the same
--                   samples, and log_ratio means nothing
SELECT
    q.run_id,
    m.reference_run_id,
    q.sample_id,
    q.position,
    (p.logprob - q.logprob) / q.copies AS log_ratio,
    p.token_id <> q.token_id AS token_mismatch
FROM stg_whole_samples AS q
JOIN stg_model_runs AS m ON m.run_id = q.run_id
JOIN stg_whole_samples AS p
    ON p.run_id = m.reference_run_id AND p.sample_id = q.sample_id AND p.position = q.position;
