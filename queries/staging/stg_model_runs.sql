-- Staging: model runs whose config names a reference run ('$.reference_run_id') holding the
-- exact log p of the same samples (an oracle or exact-Gaussian run), for KL (Eq. E.36).
--
-- Reads: runs.
-- Answer: run_id, model, reference_run_id
SELECT run_id, model, json_extract_string(config, '$.reference_run_id') AS reference_run_id
FROM runs
WHERE json_extract_string(config, '$.reference_run_id') IS NOT NULL;
