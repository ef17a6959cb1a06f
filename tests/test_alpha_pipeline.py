"""α end to end on the power-law chain: tokens -> count_ngrams -> two_point_mi -> fit_exponents.

fit_exponents writes the bias-floor fit (estimator grassberger) and the shuffle-subtracted fit
(grassberger_minus_baseline, from the rows two_point_mi writes); the subtracted α's interval
holds the exact α, i.e. the same fit of the chain's exact I_d with the same σ (the full study:
benchmarks.calibration.alpha)."""

from __future__ import annotations

import numpy as np
import polars as pl

from l2m_analysis.cli import run_cli
from l2m_analysis.corpus.known_sources import NestedClusters
from l2m_analysis.fits import fit_decay_with_offset
from l2m_analysis.warehouse import Warehouse
from pipelines import count_ngrams, fit_exponents, two_point_mi

DEPTH, N_DOCS, DOC_LENGTH = 9, 24, 4096
DISTANCES = [str(2**k) for k in range(11)]


def test_the_subtracted_alpha_covers_the_exact_alpha(tmp_path) -> None:
    chain = NestedClusters.build(depth=DEPTH, seed=3)
    words = chain.sample(N_DOCS, DOC_LENGTH, np.random.default_rng(11))
    db = str(tmp_path / "w.duckdb")
    with Warehouse.open(db) as wh:
        wh.start_run("corpus", run_id="chain", dataset="nested", config={"vocab_size": 2**DEPTH})
        wh.append_batch("tokens", "chain", f"docs-{0:09d}-{N_DOCS - 1:09d}", pl.DataFrame({
            "doc_id": np.repeat(np.arange(N_DOCS), DOC_LENGTH),
            "sample_id": np.repeat(np.arange(N_DOCS), DOC_LENGTH),
            "chunk_index": np.zeros(N_DOCS * DOC_LENGTH, dtype=np.int64),
            "position": np.tile(np.arange(DOC_LENGTH), N_DOCS),
            "token_id": words.ravel(),
        }))  # fmt: skip
        wh.finish_run("chain")
    common = ["--warehouse", db, "--run-id", "chain"]
    assert run_cli(count_ngrams.main, [*common, "--distances", *DISTANCES]) == 0
    assert run_cli(two_point_mi.main, common) == 0
    assert run_cli(fit_exponents.main, [*common, "--bootstrap", "0"]) == 0
    with Warehouse.open(db, create=False) as wh:
        fits = wh.query("SELECT * FROM fits WHERE run_id = 'chain' ORDER BY estimator")
        est = wh.query("SELECT * FROM mi_estimates WHERE run_id = 'chain' ORDER BY distance")
    assert fits["estimator"].to_list() == ["grassberger", "grassberger_minus_baseline"]
    real = est.filter(estimator="grassberger")
    base = est.filter(estimator="grassberger_shuffled")
    sub_rows = est.filter(estimator="grassberger_minus_baseline")  # written by two_point_mi
    np.testing.assert_allclose(sub_rows["value"], real["value"] - base["value"])
    d = sub_rows["distance"].to_numpy().astype(float)
    sigma = sub_rows["stderr"].to_numpy()  # the jackknife stderr of the difference
    assert np.all(sigma > 0)
    exact_alpha = fit_decay_with_offset(d, chain.exact_two_point_mi(d), sigma, n_boot=0).exponent
    sub = fits.filter(estimator="grassberger_minus_baseline").row(0, named=True)
    assert sub["exponent_lo"] <= exact_alpha <= sub["exponent_hi"], (sub, exact_alpha)
