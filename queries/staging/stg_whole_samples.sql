-- Staging: the log-probs of whole samples (condition no_split), one row per scored token:
-- log q(w_pos | BOS, w_<pos) in nats, with `copies`, the number of independent values a token
-- stacks (Eq. E.34: 64 for the paper's Gaussian tokens, from the run's config; 1 for text).
-- Per-position metrics divide by it, so that every stored KL and NLL is in nats per token
-- averaged over its copies, as Eq. (E.35) normalizes (and as pipelines.evaluate stores them).
--
-- Reads: token_logprobs, runs (config '$.copies').
-- Answer: run_id, sample_id, position, token_id, logprob, copies
SELECT
    t.run_id,
    t.sample_id,
    t.position,
    t.token_id,
    t.logprob,
    coalesce(r.copies, 1) AS copies
FROM token_logprobs AS t
-- one JSON read per run, not per token
LEFT JOIN (
    SELECT run_id, CAST(json_extract(config, '$.copies') AS INTEGER) AS copies FROM runs
) AS r ON r.run_id = t.run_id
WHERE t.condition = 'no_split';
