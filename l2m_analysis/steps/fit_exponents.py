"""The fit_exponents step: fit every MI series of ``mi_estimates`` (or those chosen) into ``fits``.

Per series (``fits.series``): β of bipartite MI (OLS on log I, power law against log law), α of
two-point MI (the decay with offset, and the shuffle-subtracted curve); then, for scored runs,
β's curve bootstrap over the samples behind the curve (whole documents resampled when they come
from a corpus: ``stg_sample_documents``), and the `direct` β under each Ĥ_G(Y1, Y2) of its
convergence (``fits.h2gram_sensitivity``, Eq. A.14). Replaces the fits of exactly the series
fitted now; every other series keeps its fit.
"""

from __future__ import annotations

import polars as pl

from l2m_analysis.errors import WarehouseError
from l2m_analysis.estimators.bipartite import ESTIMATORS as SCORED
from l2m_analysis.fits.curve_bootstrap import curve_bootstrap_beta, with_curve_bootstrap
from l2m_analysis.fits.h2gram_sensitivity import with_h2gram_sensitivity
from l2m_analysis.fits.series import SeriesFits, fit_mi_series
from l2m_analysis.warehouse import Warehouse

PRODUCERS = (
    "python -m pipelines.gaussian_mi (exact Gaussian curves), "
    "python -m pipelines.bipartite_mi (bipartite MI of scored log-probs) or "
    "python -m pipelines.two_point_mi (two-point MI of a corpus); "
    "python -m pipelines.run_all runs them all"
)


def fit_exponents(
    wh: Warehouse,
    *,
    run_id: str | None = None,
    quantity: str | None = None,
    source: str | None = None,
    min_points: int = 3,
    weighted: bool = True,
    n_boot: int = 200,
) -> SeriesFits:
    """Fit the chosen series (all when no filter is given) and replace their ``fits`` rows;
    raises naming the producers when there is nothing to fit. ``n_boot``: bootstrap replicates
    of the α fits and of each scored run's β curve (0: none)."""
    if run_id:
        wh.require_run(run_id)
    filters = {k: v for k, v in {"run_id": run_id, "quantity": quantity, "source": source}.items()
               if v}  # fmt: skip
    where = " AND ".join(f"{k} = ?" for k in filters) or "true"
    estimates = wh.query(f"SELECT * FROM mi_estimates WHERE {where}", list(filters.values()))
    if estimates.is_empty():
        chosen = f" for {', '.join(f'{k}={v}' for k, v in filters.items())}" if filters else ""
        raise WarehouseError(f"no MI estimates to fit in {wh.path}{chosen}", f"run {PRODUCERS}")
    result = fit_mi_series(estimates, min_points=min_points, weighted=weighted, n_boot=n_boot)
    scored = estimates.filter(pl.col("estimator").is_in(SCORED))["run_id"].unique().to_list()
    per_sample = wh.query(  # the points share samples: bootstrap the whole curve
        "SELECT * FROM stg_bipartite_per_sample WHERE list_contains(?, run_id)", [scored]
    )
    documents = wh.query(  # samples of one document are resampled together
        "SELECT * FROM stg_sample_documents WHERE list_contains(?, run_id)", [scored]
    )
    boot = curve_bootstrap_beta(per_sample, n_boot=n_boot, documents=documents)
    rows = with_curve_bootstrap(result.rows, boot)
    # β of `direct` under Ĥ_G of 1/8 … all of the corpus and extrapolated (Eq. A.14)
    rows = with_h2gram_sensitivity(rows, estimates, wh.query_file("adjacent_pair_convergence"))
    wh.replace_partitions("fits", rows)  # exactly the series fitted now
    return SeriesFits(rows, result.skipped)
