-- Position-wise conditional KL divergence (Eq. E.36) and NLL (Eq. E.38) of every evaluated
-- model: the curves of Fig. 4 c, d and Fig. F.5 c-h (Gaussian KL), Fig. F.6 c, d (Gaussian NLL),
-- and Fig. 5 and F.7 (text NLL), with the exact unconditional Gaussian baseline at the same
-- position. Plot kl (or nll) against position + 1 on a log axis, one line per model.
--
-- Reads: stg_evaluations (position_metrics of pipelines.evaluate runs, and their runs.config).
-- Answer: data, dataset, arch, model, train_length, seq_len, position, kl, kl_stderr,
--   baseline_kl, kl_minus_baseline, nll, nll_stderr, n, samples_digest, run_id
--   position   0-based index of the predicted token (BOS excluded): i = position + 1 in E.36
--   kl, nll    nats per token (Gaussian: mean over the token's copies, Eq. E.35); kl is NULL
--              for text (p unknown); stderr over the n evaluation samples
--   baseline_kl  KL of q = N(0, 1) per variable at that position (exact, −log σ_p); a model
--              whose kl is below it has learned to use the context
WITH
-- the exact baseline curve of each Gaussian dataset and length
baseline AS (
    SELECT dataset, seq_len, position, kl AS baseline_kl
    FROM stg_evaluations
    WHERE arch = 'baseline'
)

SELECT
    e.data,
    e.dataset,
    e.arch,
    e.model,
    e.train_length,
    e.seq_len,
    e.position,
    e.kl,
    e.kl_stderr,
    b.baseline_kl,
    e.kl - b.baseline_kl AS kl_minus_baseline,
    e.nll,
    e.nll_stderr,
    e.n,
    e.samples_digest,
    e.run_id
FROM stg_evaluations AS e
LEFT JOIN baseline AS b
    ON b.dataset = e.dataset AND b.seq_len = e.seq_len AND b.position = e.position
WHERE e.arch <> 'baseline'
ORDER BY e.data, e.dataset, e.arch, e.model, e.train_length, e.position;
