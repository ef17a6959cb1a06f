-- Average KL divergence per token against the training length L_train, per model (Fig. 4 a, b
-- and Fig. F.5 a, b), with the average NLL beside it (Fig. F.6 a, b): models trained on the
-- sub-volume Gaussian and evaluated on fresh samples, next to the exact unconditional baseline
-- q = N(0, 1) at the same length.
--
-- Reads: stg_evaluations (position_metrics of pipelines.evaluate runs, and their runs.config).
-- Answer: dataset, arch, model, n_params, train_length, seq_len, avg_kl, avg_kl_stderr,
--   baseline_avg_kl, avg_nll, avg_nll_stderr, positions, n_samples, samples_digest,
--   models_on_same_samples, run_id
--   avg_kl    Eq. (E.37): mean over positions of the analytic position-wise KL (nats per token,
--             mean over the token's copies, Eq. E.35's normalization); avg_nll likewise (E.39)
--   *_stderr  standard error over samples of the per-sample average (from the run's config)
--   baseline_avg_kl   the same average for q = N(0, 1) per variable (exact: −log σ_p)
--   models_on_same_samples   evaluations at this dataset and length that used exactly these
--             samples (same sha256): only such rows compare without sampling noise between them
WITH
-- Eq. (E.37), (E.39): the mean over positions of each evaluation
averages AS (
    SELECT
        run_id, any_value(dataset) AS dataset, any_value(arch) AS arch,
        any_value(model) AS model, any_value(n_params) AS n_params,
        any_value(train_length) AS train_length, any_value(seq_len) AS seq_len,
        avg(kl) AS avg_kl, any_value(avg_kl_stderr) AS avg_kl_stderr,
        avg(nll) AS avg_nll, any_value(avg_nll_stderr) AS avg_nll_stderr,
        count(*) AS positions, max(n) AS n_samples, any_value(samples_digest) AS samples_digest
    FROM stg_evaluations
    WHERE data = 'gaussian'
    GROUP BY run_id, seq_len
),

-- the exact baseline of each dataset and length
baselines AS (
    SELECT dataset, seq_len, avg_kl AS baseline_avg_kl
    FROM averages
    WHERE arch = 'baseline'
)

SELECT
    a.dataset,
    a.arch,
    a.model,
    a.n_params,
    a.train_length,
    a.seq_len,
    a.avg_kl,
    a.avg_kl_stderr,
    b.baseline_avg_kl,
    a.avg_nll,
    a.avg_nll_stderr,
    a.positions,
    a.n_samples,
    a.samples_digest,
    count(*) OVER (PARTITION BY a.dataset, a.seq_len, a.samples_digest) AS models_on_same_samples,
    a.run_id
FROM averages AS a
LEFT JOIN baselines AS b ON b.dataset = a.dataset AND b.seq_len = a.seq_len
WHERE a.arch <> 'baseline'
ORDER BY a.dataset, a.arch, a.model, a.train_length;
