-- Has Ĥ_G(Y1, Y2) converged? The Grassberger entropy of adjacent pairs (Eq. A.12-A.13, nats)
-- behind each scored run's 2-gram correction (Appendix A.III, Eq. A.14), counted from nested
-- fractions of its data (whole samples drawn in a seeded order: 1/8 ⊂ 1/4 ⊂ 1/2 ⊂ all), and
-- its extrapolation to N -> infinity (Aitken's delta-squared on the last three doublings).
-- Every nat Ĥ_G still misses lowers every corrected `direct` point by 0.8 nats.
--
-- Reads: entropies (quantity adjacent_pair_subsample, estimator grassberger: one row per
-- fraction, and estimator grassberger_extrapolated: the limit, when the rises shrink;
-- quantity adjacent_pair, estimator grassberger: the value the correction used), written by
-- pipelines.bipartite_mi (l2m_analysis.estimators.entropy_convergence).
-- Answer: run_id, data_run_id, fraction (share of the pairs; NULL for the extrapolated row),
--   pairs, h_2gram, h_2gram_stderr, h_2gram_used, shift_direct (= 0.8 (h_2gram - h_2gram_used):
--   what the direct curve would move by with this Ĥ_G), extrapolated
WITH used AS (
    SELECT run_id, any_value(value) AS h_used, any_value(n) AS n_used
    FROM entropies
    WHERE quantity = 'adjacent_pair' AND estimator = 'grassberger' AND NOT coalesce(shuffled, false)
    GROUP BY run_id
),

steps AS (
    SELECT run_id, data_run_id, n, value, stderr, false AS extrapolated
    FROM entropies
    WHERE quantity = 'adjacent_pair_subsample' AND estimator = 'grassberger'
    UNION ALL
    SELECT run_id, data_run_id, n, value, stderr, true AS extrapolated
    FROM entropies
    WHERE quantity = 'adjacent_pair_subsample' AND estimator = 'grassberger_extrapolated'
)

SELECT
    s.run_id,
    s.data_run_id,
    CASE WHEN s.extrapolated THEN NULL ELSE s.n / u.n_used END AS fraction,
    s.n AS pairs,
    s.value AS h_2gram,
    s.stderr AS h_2gram_stderr,
    u.h_used AS h_2gram_used,
    0.8 * (s.value - u.h_used) AS shift_direct,
    s.extrapolated
FROM steps AS s
JOIN used AS u USING (run_id)
ORDER BY s.run_id, s.extrapolated, s.n;
