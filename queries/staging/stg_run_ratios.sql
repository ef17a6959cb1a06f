-- Staging: the ratios L/ℓ each scored run reports (Fig. 3: 2, 3, 4 by default), as recorded in
-- its config by the scoring step (score_logprobs --ratios, score_oracle --ratios): the one place
-- the bipartite SQL learns which windows Y = [ℓ, ratio·ℓ) to estimate.
--
-- Reads: runs (config.ratios, a JSON list of integers).
-- Answer: run_id, ratio
SELECT run_id, unnest(CAST(json_extract(config, '$.ratios') AS INTEGER[])) AS ratio
FROM runs
WHERE json_extract(config, '$.ratios') IS NOT NULL;
