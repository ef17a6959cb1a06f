-- Staging: the log-probs of whole samples (condition no_split), one row per scored token:
-- log q(w_pos | BOS, w_<pos) in nats. Every per-position metric and the samples' own 2-gram
-- counts start here.
--
-- Reads: token_logprobs.
-- Answer: run_id, sample_id, position, token_id, logprob
SELECT run_id, sample_id, position, token_id, logprob
FROM token_logprobs
WHERE condition = 'no_split';
