"""The toolkit's end-to-end check: oracle-scored samples -> warehouse -> the bipartite SQL
estimators recover the exact answers (q = p): direct -> I_BP, vCLUB -> tr(S⁻¹Σ_YY) − n_Y."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from l2m_analysis.estimators.bipartite import bipartite_mi_sql
from l2m_analysis.gaussian.curves import exact_window_estimates
from l2m_analysis.gaussian.sampling import GaussianSampleSource
from l2m_analysis.scoring import GaussianOracle, ScoringPlan, derangement, score_run
from l2m_analysis.warehouse import Warehouse

COPIES, PAIRS = 64, 240
# estimator of the SQL -> the exact value it converges to with q = p
TARGET = {"direct_uncorrected": "exact", "vclub": "exact_vclub"}


@pytest.mark.parametrize("family", ["subvolume", "log"])
def test_estimators_recover_exact_values_within_three_standard_errors(tmp_path, family):
    checked = []
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        for layers, seed in ((2, 1), (3, 2), (4, 3)):
            length = 4**layers
            splits = (length // 2, length // 4)
            oracle = GaussianOracle(family, layers, copies=COPIES)
            source = GaussianSampleSource(oracle.conditionals.model, seed=seed, copies=COPIES)
            run_id = wh.start_run("oracle", run_id=f"{family}-{layers}", config=oracle.describe())
            plan = ScoringPlan(PAIRS, splits, batch_size=80)
            partners = derangement(np.arange(PAIRS), seed=1)
            score_run(wh, run_id, oracle, source, plan, partners, show_progress=False)
            estimates = bipartite_mi_sql(wh.con, run_id)
            exact = exact_window_estimates(family, layers, splits, copies=COPIES)
            for row in estimates.iter_rows(named=True):
                truth = exact.filter(
                    (pl.col("estimator") == TARGET[row["estimator"]])
                    & (pl.col("split_at") == row["split_at"])
                    & (pl.col("length") == row["length"])
                )["value"][0]
                z = (row["value"] - truth) / row["stderr"]
                checked.append((row["estimator"], row["length"], row["ratio"], round(z, 2)))
                assert abs(z) < 3, checked[-1]
    # every window of the three L: ratios 2 (both splits), 3 and 4 (split L/4), two estimators
    assert len(checked) == 3 * 2 * 4
    assert {c[2] for c in checked} == {2, 3, 4}


def test_vclub_and_direct_converge_to_different_limits(tmp_path):
    """Comparing vCLUB with I_BP would be wrong: its q = p limit is far above I_BP."""
    exact = exact_window_estimates("subvolume", 3, [32], copies=1).filter(pl.col("ratio") == 2)
    values = dict(zip(exact["estimator"], exact["value"], strict=True))
    assert values["exact_vclub"] > 2 * values["exact"]
