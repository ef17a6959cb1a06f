-- Staging: the position-wise KL (Eq. E.36) and NLL (Eq. E.38) of every evaluated model
-- (pipelines.evaluate), computed from its token rows by stg_position_metrics, with what each
-- evaluation was: architecture, data, training length, evaluated length, the samples it used,
-- and the standard errors of its averages (Eqs. E.37, E.39) over samples (stg_run_metrics).
-- Units: nats per token; for Gaussian tokens the mean over the token's `copies` numbers (Eq.
-- E.35's normalization; × copies gives per-token sums).
--
-- Reads: stg_position_metrics, stg_run_metrics, runs (kind 'evaluation'; config written by
-- pipelines.evaluate).
-- Answer: run_id, train_run_id, model, arch, data, dataset, copies, n_params, train_length,
--   seq_len, position, kl, kl_stderr, nll, nll_stderr, n, samples_digest, avg_kl_stderr,
--   avg_nll_stderr
--   arch is 'baseline' for the exact unconditional Gaussian baseline (model marginal-baseline,
--   a closed-form curve: no samples, n NULL).
SELECT
    m.run_id,
    json_extract_string(r.config, '$.train_run_id') AS train_run_id,
    m.model,
    json_extract_string(r.config, '$.arch') AS arch,
    json_extract_string(r.config, '$.data') AS data,
    json_extract_string(r.config, '$.dataset') AS dataset,
    CAST(json_extract(r.config, '$.copies') AS INTEGER) AS copies,
    CAST(json_extract(r.config, '$.n_params') AS BIGINT) AS n_params,
    m.train_length,
    m.seq_len,
    m.position,
    m.kl,
    m.kl_stderr,
    m.nll,
    m.nll_stderr,
    m.n,
    m.samples_digest,
    a.avg_kl_stderr,
    a.avg_nll_stderr
FROM stg_position_metrics AS m
JOIN runs AS r ON r.run_id = m.run_id
LEFT JOIN stg_run_metrics AS a ON a.run_id = m.run_id
WHERE r.kind = 'evaluation';
