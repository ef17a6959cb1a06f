-- Two-point mutual information I_d (nats) of every corpus run against distance d, next to the
-- shuffle baseline that shows the Grassberger estimator's bias floor at the same d (Fig. 2 d-f,
-- Appendix A.VII). The signal above the floor is what decays as d^-alpha (Eq. A.18 fits it with
-- a constant C instead; see pipelines.fit_exponents and docs/estimators.md).
--
-- Reads: mi_estimates, quantity 'two_point', estimators 'grassberger' (I_d = H(X) + H(Y) -
-- H(XY_d), Eq. 10 / A.16) and 'grassberger_shuffled' (the same counts with Y re-paired), both
-- written by pipelines.two_point_mi.
-- Answer: run_id, source, distance, mi, mi_stderr, floor, floor_stderr, above_floor, n_pairs
--   floor and above_floor are NULL when the run was counted without a baseline.
WITH
-- I_d of the real pairs
signal AS (
    SELECT run_id, source, distance, value AS mi, stderr AS mi_stderr, n AS n_pairs
    FROM mi_estimates
    WHERE quantity = 'two_point' AND estimator = 'grassberger'
),

-- the same estimator on pairs whose pairing was destroyed
baseline AS (
    SELECT run_id, distance, value AS floor, stderr AS floor_stderr
    FROM mi_estimates
    WHERE quantity = 'two_point' AND estimator = 'grassberger_shuffled'
)

SELECT
    s.run_id,
    s.source,
    s.distance,
    s.mi,
    s.mi_stderr,
    b.floor,
    b.floor_stderr,
    s.mi - b.floor AS above_floor,
    s.n_pairs
FROM signal AS s
LEFT JOIN baseline AS b ON b.run_id = s.run_id AND b.distance = s.distance
ORDER BY s.run_id, s.distance;
