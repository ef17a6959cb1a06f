-- How much of the text's bipartite mutual information does each architecture capture as L
-- grows? I^BP_{L/ℓ;L} (nats) of every corpus scored by a language model q: the models trained
-- by pipelines.train (GPT-2, Mamba, Mamba2, each scored through its Hugging Face model folder)
-- beside pretrained ones (SmolLM2-135M). Each estimate is a lower bound of the text's own I^BP,
-- the tighter the better q (Appendix A.VI); a q whose history state cannot grow with L (an SSM)
-- should show its estimate flattening as L grows, once L is past what its state can hold
-- (Section 5, the L²M condition).
--
-- Reads: mi_estimates (bipartite rows of pipelines.bipartite_mi), runs (the scoring run: kind
-- 'llm', its q in '$.model.name'; the training run of a trained q: kind 'train').
-- Answer: run_id, q, q_kind, preset, arch, train_length, n_params, corpus_run_id, tokenizer,
--   estimator, ratio, split_at, length, value, stderr, n
--   q            the scoring model: a training run id (q_kind 'trained') or a pretrained model's
--                name (q_kind 'pretrained')
--   preset, arch, train_length, n_params   of a trained q (its training run); NULL otherwise
--   tokenizer    the corpus run's tokenizer: estimates of different tokenizers count nats per
--                window of L tokens of different sizes
--   estimator    direct (2-gram corrected, Eq. 6 with A.14), direct_uncorrected, vclub (Eq. 7)
--   value, stderr, n   the estimate, its standard error over the n samples
WITH
-- scoring runs and the training run behind a trained q
scorers AS (
    SELECT
        s.run_id,
        s.model AS q,
        CASE WHEN t.run_id IS NOT NULL THEN 'trained' ELSE 'pretrained' END AS q_kind,
        t.model AS preset,
        CAST(json_extract(t.config, '$.length') AS INTEGER) AS train_length,
        CAST(json_extract(t.config, '$.n_params') AS BIGINT) AS n_params,
        json_extract_string(s.config, '$.corpus_run_id') AS corpus_run_id,
        s.tokenizer
    FROM runs AS s
    LEFT JOIN runs AS t
        ON t.run_id = json_extract_string(s.config, '$.model.name') AND t.kind = 'train'
    WHERE s.kind = 'llm'
)

SELECT
    m.run_id,
    s.q,
    s.q_kind,
    s.preset,
    split_part(s.preset, '-', 1) AS arch,
    s.train_length,
    s.n_params,
    s.corpus_run_id,
    s.tokenizer,
    m.estimator,
    m.ratio,
    m.split_at,
    m.length,
    m.value,
    m.stderr,
    m.n
FROM mi_estimates AS m
JOIN scorers AS s ON s.run_id = m.run_id
WHERE m.quantity = 'bipartite' AND m.estimator IN ('direct', 'direct_uncorrected', 'vclub')
ORDER BY s.q_kind DESC, s.q, m.estimator, m.ratio, m.length;
