-- The per-position KL and NLL of every run with the columns of the former position_metrics
-- table (now this view, so that it always answers from the stored tokens): nats per token
-- averaged over a token's copies (Eq. E.35); kl as in stg_position_kl (closed form where known,
-- else Monte-Carlo against the run's reference run, else NULL).
--
-- Reads: stg_position_metrics, stg_position_kl.
-- Answer: run_id, model, train_length, seq_len, position, kl, kl_stderr, nll, nll_stderr, n,
--   samples_digest (see stg_position_metrics)
SELECT
    m.run_id, m.model, m.train_length, m.seq_len, m.position, k.kl, k.kl_stderr, m.nll,
    m.nll_stderr, m.n, m.samples_digest
FROM stg_position_metrics AS m
LEFT JOIN stg_position_kl AS k ON k.run_id = m.run_id AND k.position = m.position;
