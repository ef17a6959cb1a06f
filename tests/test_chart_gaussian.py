"""Fig. 3: the two Gaussian families' exact bipartite MI with each family's preferred law, and
their identical exact two-point MI with the fitted decay."""

from __future__ import annotations

import math

import pytest

from l2m_analysis import charts
from l2m_analysis.charts.render import chart_spec
from tests.chart_specs import read, run_rows, subtitle_text, units


def test_families_side_by_side_with_their_preferred_laws():
    fits = read("table_fits")
    spec = chart_spec(charts.gaussian_families_chart(run_rows("gaussian-exact"), fits))
    left, right = ({"datasets": spec["datasets"], **side} for side in spec["hconcat"])
    points = {s: [r for u, r in units(side) if u["name"].startswith("points")][0]
              for s, side in (("a", left), ("b", right))}  # fmt: skip
    assert len(points["a"]) == len(points["b"]) == 16  # 8 lengths / distances × 2 families
    labels = {r["series"] for r in points["a"]}
    assert any("sub-volume" in s and "β = 0.805 [0.794, 0.815]" in s for s in labels)
    assert any("log (gaussian_log)" in s and "log law, a = " in s for s in labels)
    log_law = fits.filter(run_id="gaussian-exact", source="gaussian_log", estimator="exact",
                          ratio=2, law="log").row(0, named=True)  # fmt: skip
    line = [r for u, r in units(left) if u["name"].startswith("fit-line")][0]
    first = next(r for r in line if "gaussian_log" in r["series"])
    assert first["fit"] == pytest.approx(
        log_law["amplitude"] * math.log(first["x"]) + log_law["offset_c"]
    )
    assert len([r for u, r in units(left) if u["name"].startswith("fit-band")][0]) == 2 * 60
    assert "coincide" in subtitle_text(spec["hconcat"][1])
    for u, _ in units(left) + units(right):
        if u["name"].startswith("points"):
            assert (
                u["encoding"]["y"]["scale"]["type"] == "log"
                and "nats" in u["encoding"]["y"]["title"]
            )
