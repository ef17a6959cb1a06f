-- What each prepared corpus holds: documents, samples and tokens per run, the sample lengths,
-- and the tokenizer that produced the ids (Appendix E's sentence-aware samples).
--
-- Reads: tokens (one row per token, written by pipelines.prepare_corpus) and runs.
-- Answer: run_id, dataset, tokenizer, status, documents, samples, tokens, min_sample_tokens,
--   mean_sample_tokens, max_sample_tokens, distinct_tokens
WITH
-- one row per sample
samples AS (
    SELECT run_id, doc_id, sample_id, count(*) AS n_tokens
    FROM tokens
    GROUP BY run_id, doc_id, sample_id
),

-- per run: documents, samples and their lengths
per_run AS (
    SELECT
        run_id,
        count(DISTINCT doc_id) AS documents,
        count(*) AS samples,
        sum(n_tokens) AS tokens,
        min(n_tokens) AS min_sample_tokens,
        avg(n_tokens) AS mean_sample_tokens,
        max(n_tokens) AS max_sample_tokens
    FROM samples
    GROUP BY run_id
),

-- the vocabulary actually used
vocabulary AS (
    SELECT run_id, count(DISTINCT token_id) AS distinct_tokens
    FROM tokens
    GROUP BY run_id
)

SELECT
    p.run_id,
    r.dataset,
    r.tokenizer,
    r.status,
    p.documents,
    p.samples,
    p.tokens,
    p.min_sample_tokens,
    p.mean_sample_tokens,
    p.max_sample_tokens,
    v.distinct_tokens
FROM per_run AS p
JOIN vocabulary AS v ON v.run_id = p.run_id
LEFT JOIN runs AS r ON r.run_id = p.run_id
ORDER BY p.run_id;
