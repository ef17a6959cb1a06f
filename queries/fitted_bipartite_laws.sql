-- The fitted bipartite power laws I^BP_{L/2;L} = A·L^β (ratio L/ℓ = 2) whose preferred law is
-- the power law: the data side of the L²M condition (Theorem 5.2), with the model q of text runs.
--
-- Reads: fits, runs.
-- Answer: source, estimator, run_id, amplitude (nats per token at L = 1), exponent (β),
--   x_min, x_max (the L range fitted), model (q of an LLM run; NULL for exact or oracle series)
SELECT f.source, f.estimator, f.run_id, f.amplitude, f.exponent, f.x_min, f.x_max, r.model
FROM fits AS f
LEFT JOIN runs AS r USING (run_id)
WHERE f.quantity = 'bipartite' AND f.law = 'power' AND f.ratio = 2
    AND f.preferred_law = 'power' AND f.exponent > 0
ORDER BY f.source, f.estimator, f.run_id;
