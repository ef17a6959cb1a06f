-- The fitted scaling exponents of every MI series, one row per series: beta of the bipartite
-- power law I = A L^beta (with the power-vs-log verdict) and alpha of the two-point decay
-- I = A d^-alpha + C (Eq. A.18), each with its 95% interval. The table pipelines.fit_exponents
-- prints, as SQL.
--
-- Reads: fits (written by pipelines.fit_exponents; a bipartite series has a 'power' and a 'log'
-- row, a two-point series one 'decay' row; estimator '<e>_minus_baseline' is the two-point
-- series e minus its shuffle baseline, the one whose alpha reports quote).
-- Answer: run_id, source, quantity, estimator, ratio, exponent_name, exponent, exponent_lo,
--   exponent_hi, offset_c, r2, n_points, x_min, x_max, preferred_law, delta_aic, n_dropped,
--   drop_reason, warnings
--   delta_aic = AIC(log law) - AIC(power law) on the log I scale (> 0: power law preferred);
--   NULL for two-point series. An open interval end is NULL. A scored run's beta interval is
--   the curve bootstrap (samples or documents resampled; the regression's t-interval is in
--   fits.detail as t_exponent_lo/hi), about the OLS beta over the fitted L (docs/estimators.md). n_dropped/drop_reason: points of
--   the series the fit could not use; warnings: why the fit may not be informative (a list).
WITH
-- the power-law and decay rows carry the exponent
exponent_rows AS (
    SELECT *
    FROM fits
    WHERE law IN ('power', 'decay')
),

-- the log-law row of the same bipartite series, for the comparison
log_rows AS (
    SELECT run_id, source, quantity, estimator, ratio, aic AS aic_log
    FROM fits
    WHERE law = 'log'
)

SELECT
    e.run_id,
    e.source,
    e.quantity,
    e.estimator,
    e.ratio,
    CASE e.law WHEN 'power' THEN 'beta' ELSE 'alpha' END AS exponent_name,
    e.exponent,
    e.exponent_lo,
    e.exponent_hi,
    CASE e.law WHEN 'decay' THEN e.offset_c END AS offset_c,
    e.r2,
    e.n_points,
    e.x_min,
    e.x_max,
    e.preferred_law,
    l.aic_log - e.aic AS delta_aic,
    e.n_dropped,
    e.drop_reason,
    e.warnings
FROM exponent_rows AS e
LEFT JOIN log_rows AS l
    ON l.run_id = e.run_id AND l.source = e.source AND l.quantity = e.quantity
    AND l.estimator = e.estimator AND l.ratio IS NOT DISTINCT FROM e.ratio
ORDER BY e.quantity, e.source, e.estimator, e.ratio;
