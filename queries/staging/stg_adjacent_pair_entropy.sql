-- Staging: the adjacent-pair Grassberger entropy Ĥ_G(Y1, Y2) (Eq. A.12-A.13, nats) of every
-- run that has one: the input of the 2-gram correction (Appendix A.III, Eq. A.14). For a scored
-- run it is computed from the corpus it came from (data_run_id), or from its own samples.
--
-- Reads: entropies (quantity adjacent_pair, estimator grassberger, not shuffled).
-- Answer: run_id, h_2gram, h_2gram_stderr, data_run_id
SELECT
    run_id,
    any_value(value) AS h_2gram,
    any_value(stderr) AS h_2gram_stderr,
    any_value(coalesce(data_run_id, run_id)) AS data_run_id
FROM entropies
WHERE quantity = 'adjacent_pair' AND estimator = 'grassberger' AND NOT coalesce(shuffled, false)
GROUP BY run_id;
