-- The fitted bipartite power laws I^BP_{L/2;L} = A·L^β (ratio L/ℓ = 2) whose preferred law is
-- the power law: the data side of the L²M condition (Theorem 5.2), with the model q of text runs
-- and, for Gaussian series, how many stacked copies each token holds (Eq. E.34).
--
-- Reads: fits, runs (model; config.copies, recorded by gaussian_mi and score_oracle).
-- Answer: source, estimator, run_id, amplitude (nats per token at L = 1), exponent (β),
--   x_min, x_max (the L range fitted), model (q of an LLM run; NULL for exact or oracle series),
--   copies (numbers per Gaussian token; NULL for text), family (the Gaussian family's source of
--   one copy: `source` without its `_x<copies>` suffix; NULL for text)
WITH laws AS (
    SELECT
        f.source, f.estimator, f.run_id, f.amplitude, f.exponent, f.x_min, f.x_max, r.model,
        CAST(json_extract(r.config, '$.copies') AS INTEGER) AS copies
    FROM fits AS f
    LEFT JOIN runs AS r USING (run_id)
    WHERE f.quantity = 'bipartite' AND f.law = 'power' AND f.ratio = 2
        AND f.preferred_law = 'power' AND f.exponent > 0
)

SELECT
    *,
    CASE
        WHEN copies > 1 THEN left(source, length(source) - length('_x' || copies))
        WHEN copies = 1 THEN source
    END AS family
FROM laws
ORDER BY source, estimator, run_id;
