"""python -m pipelines.gaussian_mi: the exact rows it writes and idempotent reruns."""

from __future__ import annotations

import pytest

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.structured import prefix_logdets
from l2m_analysis.warehouse import Warehouse
from pipelines import gaussian_mi


def test_gaussian_mi_writes_exact_curves_and_reruns_replace(tmp_path):
    path = str(tmp_path / "w.duckdb")
    args = ["--warehouse", path, "--layers", "4", "--vclub-layers", "2"]
    assert gaussian_mi.main(args) == 0
    assert gaussian_mi.main(args) == 0  # rerun replaces, never duplicates
    with Warehouse.open(path, create=False) as wh:
        (run_id,) = wh.query("SELECT run_id FROM runs")["run_id"].to_list()
        rows = wh.query("SELECT * FROM mi_estimates")
        entropies = wh.query("SELECT * FROM entropies")
    assert run_id.startswith("gaussian-exact-")  # not the default options -> hashed id
    grouped = rows.group_by("source", "quantity", "estimator").len()
    counts = {tuple(r[:3]): r[3] for r in grouped.iter_rows()}
    for source in ("gaussian_subvolume", "gaussian_log"):
        assert counts[(source, "bipartite", "exact")] == 4 * 3  # l = 1..4, ratios 2 3 4
        assert counts[(source, "bipartite", "exact_vclub")] == 2 * 3
        assert counts[(source, "two_point", "exact")] == 4
        assert counts[(source, "two_point", "exact_pair_average")] == 4  # 1, 4, 16, 64
    assert entropies.height == 2 * 4
    half = rows.filter(
        (rows["source"] == "gaussian_subvolume") & (rows["length"] == 256)
        & (rows["ratio"] == 2) & (rows["estimator"] == "exact")
    )["value"][0]  # fmt: skip
    assert half == pytest.approx(prefix_logdets("subvolume", 4).bipartite_mi(128))
    assert rows.filter(rows["quantity"] == "two_point")["length"].is_null().all()


def test_gaussian_mi_rejects_bad_options(tmp_path):
    with pytest.raises(InputError, match="vclub"):
        gaussian_mi.main(["--warehouse", str(tmp_path / "w.duckdb"), "--vclub-layers", "7"])
    with pytest.raises(InputError, match="ratios"):
        gaussian_mi.main(["--warehouse", str(tmp_path / "w.duckdb"), "--ratios", "1"])
