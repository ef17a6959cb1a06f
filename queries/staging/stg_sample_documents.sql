-- Staging: the document of every sample a language model scored from a prepared corpus, so that
-- a bootstrap over samples can resample whole documents (samples of one book share its topic).
--
-- Reads: runs (config.corpus_run_id and config.corpus_sample_ids of a scoring run: scored sample
-- i is corpus sample corpus_sample_ids[i], pipelines.score_logprobs), tokens (doc_id of each
-- corpus sample).
-- Answer: run_id, sample_id, doc_id (one row per scored sample whose corpus sample is stored;
-- runs without a corpus, such as the Gaussian oracle, have no rows: their samples are
-- independent)
WITH
-- scored sample i -> corpus sample corpus_sample_ids[i] (lists are 1-based in SQL)
scored AS (
    SELECT
        run_id,
        corpus_run_id,
        i AS sample_id,
        CAST(ids[i + 1] AS BIGINT) AS corpus_sample_id
    FROM (
        SELECT
            run_id,
            json_extract_string(config, '$.corpus_run_id') AS corpus_run_id,
            CAST(json_extract(config, '$.corpus_sample_ids') AS BIGINT[]) AS ids
        FROM runs
        WHERE json_extract(config, '$.corpus_sample_ids') IS NOT NULL
    ) AS r, range(len(r.ids)) AS t(i)
)

SELECT DISTINCT s.run_id, s.sample_id, t.doc_id
FROM scored AS s
JOIN tokens AS t ON t.run_id = s.corpus_run_id AND t.sample_id = s.corpus_sample_id;
