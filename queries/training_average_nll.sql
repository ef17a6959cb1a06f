-- Average conditional NLL of the models trained on text (Table F.1: GPT2 125M / medium, Mamba
-- 130M / 370M / 790M at 4096 tokens on PG19 in the paper), evaluated on held-out windows.
--
-- Reads: stg_evaluations (position_metrics of pipelines.evaluate runs, and their runs.config).
-- Answer: dataset, model, arch, n_params, train_length, seq_len, avg_nll, avg_nll_stderr,
--   n_samples, samples_digest, run_id
--   avg_nll  Eq. (E.39): mean over positions of the position-wise NLL, nats per token
--   avg_nll_stderr  standard error over samples of the per-sample average (run's config)
SELECT
    dataset,
    any_value(model) AS model,
    any_value(arch) AS arch,
    any_value(n_params) AS n_params,
    any_value(train_length) AS train_length,
    seq_len,
    avg(nll) AS avg_nll,
    any_value(avg_nll_stderr) AS avg_nll_stderr,
    max(n) AS n_samples,
    any_value(samples_digest) AS samples_digest,
    run_id
FROM stg_evaluations
WHERE data = 'text'
GROUP BY dataset, run_id, seq_len
ORDER BY dataset, train_length, n_params, model;
