"""Chart builders: the specs hold the right rows, encodings, log scales, units and fit layers;
bad input is an InputError with a fix; charts render to PNG and SVG with marks."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import altair as alt
import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from l2m_analysis import charts
from l2m_analysis.charts import _fitcurves
from l2m_analysis.charts.render import chart_spec
from l2m_analysis.charts.theme import FONT, THEME_NAME, register_theme
from l2m_analysis.errors import InputError
from l2m_analysis.fits import compare_laws

DATA = Path(__file__).parent / "data" / "charts"


def _read(name: str) -> pl.DataFrame:
    return pl.read_parquet(DATA / f"{name}.parquet")


@pytest.fixture(scope="module")
def mi() -> pl.DataFrame:
    return _read("table_mi_estimates")


@pytest.fixture(scope="module")
def fits() -> pl.DataFrame:
    return _read("table_fits")


@pytest.fixture(scope="module")
def two_point() -> pl.DataFrame:
    return _read("query_two_point_mi")


# --- spec helpers --------------------------------------------------------------------------


def units(spec: dict, data=None, out=None) -> list[tuple[dict, list[dict]]]:
    """Every unit (single-mark) spec in ``spec`` with the rows its data resolves to."""
    out = [] if out is None else out
    datasets = spec.get("datasets", {}) if data is None else data[0]
    own = spec.get("data", data[1] if data else None)
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            units(sub, (datasets, own), out)
    if "spec" in spec:  # facet
        units(spec["spec"], (datasets, own), out)
    if "mark" in spec:
        rows = []
        if own is not None:
            rows = datasets[own["name"]] if "name" in own else own.get("values", [])
        out.append((spec, rows))
    return out


def is_named(unit: dict, name: str) -> bool:
    """Altair suffixes repeated layer names inside concatenations: 'points' -> 'points_0'."""
    return re.fullmatch(rf"{re.escape(name)}(_\d+)?", unit.get("name", "")) is not None


def named(spec: dict, name: str) -> list[tuple[dict, list[dict]]]:
    return [(u, r) for u, r in units(spec) if is_named(u, name)]


def one(spec: dict, name: str) -> tuple[dict, list[dict]]:
    found = named(spec, name)
    assert len(found) == 1, f"expected one layer {name!r}, found {len(found)}"
    return found[0]


def subtitle_text(spec: dict) -> str:
    title = spec.get("title", {})
    sub = title.get("subtitle", []) if isinstance(title, dict) else []
    return " | ".join([sub] if isinstance(sub, str) else sub)


def mark_type(unit: dict) -> str:
    return unit["mark"] if isinstance(unit["mark"], str) else unit["mark"]["type"]


# --- bipartite -----------------------------------------------------------------------------


def test_bipartite_chart_points_fits_and_log_axes(mi, fits):
    run = "oracle-gaussian-subvolume"
    spec = chart_spec(charts.bipartite_mi_chart(mi, fits, run_id=run))
    unit, rows = one(spec, "points")
    expected = mi.filter(
        (pl.col("run_id") == run)
        & (pl.col("ratio") == 2)
        & pl.col("estimator").is_in(["direct_uncorrected", "vclub"])
    )
    assert len(rows) == expected.height == 6
    enc = unit["encoding"]
    assert enc["x"]["field"] == "x" and enc["y"]["field"] == "y"
    assert enc["x"]["scale"]["type"] == "log" and enc["y"]["scale"]["type"] == "log"
    assert "nats" in enc["y"]["title"] and "tokens" in enc["x"]["title"]
    assert sorted(r["y"] for r in rows) == pytest.approx(sorted(expected["value"].to_list()))
    assert {t["field"] for t in enc["tooltip"]} >= {"x", "y", "stderr", "n", "split_at"}
    # error bars: value ± 1.96·stderr, said in the subtitle
    _, bars = one(spec, "error-bars")
    assert len(bars) == 6
    row = next(r for r in rows if r["series"].startswith("vCLUB") and r["x"] == 128)
    assert row["y_hi"] - row["y"] == pytest.approx(1.959964 * row["stderr"], rel=1e-5)
    assert "±1.96·stderr" in subtitle_text(spec)
    # one fitted line and one band per series, over the fitted range
    line_unit, line = one(spec, "fit-line")
    _, band = one(spec, "fit-band")
    assert mark_type(line_unit) == "line"
    assert {r["series"] for r in line} == {r["series"] for r in rows}
    assert len(line) == len(band) == 2 * 60
    power = fits.filter(
        (pl.col("run_id") == run) & (pl.col("law") == "power") & (pl.col("ratio") == 2)
    )
    vclub = power.filter(pl.col("estimator") == "vclub").row(0, named=True)
    first = min((r for r in line if r["series"].startswith("vCLUB")), key=lambda r: r["x"])
    assert first["x"] == pytest.approx(vclub["x_min"])
    assert first["fit"] == pytest.approx(vclub["amplitude"] * vclub["x_min"] ** vclub["exponent"])
    assert all(b["band_lo"] < b["band_hi"] for b in band)
    # β and its interval are in the legend labels (the series names)
    assert any(f"β = {vclub['exponent']:.3f}" in r["series"] for r in rows)
    assert "confidence band" in subtitle_text(spec)


def test_bipartite_chart_accepts_query_output_and_defaults(fits):
    q = _read("query_bipartite_mi")  # no `source` column: fits match on run, estimator, ratio
    spec = chart_spec(charts.bipartite_mi_chart(q, fits, run_id="oracle-gaussian-log"))
    _, rows = one(spec, "points")
    assert len(rows) == 6
    _, line = one(spec, "fit-line")
    assert len({r["series"] for r in line}) == 2
    partial = fits.filter(pl.col("estimator") != "vclub")
    spec = chart_spec(charts.bipartite_mi_chart(q, partial, run_id="oracle-gaussian-log"))
    _, line = one(spec, "fit-line")
    assert len({r["series"] for r in line}) == 1
    assert "no stored power-law fit for: vCLUB" in subtitle_text(spec)


def test_bipartite_chart_drops_non_positive_values_and_says_so(mi):
    frame = mi.filter(pl.col("run_id") == "oracle-gaussian-subvolume")
    frame = frame.with_columns(
        pl.when((pl.col("estimator") == "vclub") & (pl.col("length") == 8))
        .then(-0.5)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    spec = chart_spec(charts.bipartite_mi_chart(frame))
    _, rows = one(spec, "points")
    assert len(rows) == 5
    assert "1 point with I ≤ 0" in subtitle_text(spec)
    assert not named(spec, "fit-line")  # no fits given: points only


def test_bipartite_chart_nan_values_are_not_in_the_spec(mi):
    frame = mi.filter(pl.col("run_id") == "oracle-gaussian-subvolume").with_columns(
        pl.when(pl.col("length") == 32)
        .then(float("nan"))
        .otherwise(pl.col("stderr"))
        .alias("stderr")
    )
    spec = chart_spec(charts.bipartite_mi_chart(frame))
    json.dumps(spec, allow_nan=False)  # would raise on NaN
    _, bars = one(spec, "error-bars")
    assert len(bars) == 4  # the two L = 32 points lost their error bars, not their points


def test_fit_warnings_are_shown(mi, fits):
    run = "oracle-gaussian-subvolume"
    warned = fits.with_columns(
        pl.when(pl.col("estimator") == "vclub")
        .then(pl.lit(["residuals trend with L"]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias("warnings"),
        pl.when(pl.col("estimator") == "vclub").then(1).otherwise(0).alias("n_dropped"),
        pl.when(pl.col("estimator") == "vclub")
        .then(pl.lit("below bias floor"))
        .otherwise(None)
        .alias("drop_reason"),
    )
    spec = chart_spec(charts.bipartite_mi_chart(mi, warned, run_id=run))
    text = subtitle_text(spec)
    assert "residuals trend with L" in text and "1 point dropped (below bias floor)" in text
    _, line = one(spec, "fit-line")
    vclub = {r["fit_warnings"] for r in line if r["series"].startswith("vCLUB")}
    assert vclub == {"residuals trend with L; 1 point dropped (below bias floor)"}


def test_estimator_comparison_chart(mi):
    spec = chart_spec(charts.estimator_comparison_chart(mi, run_id="oracle-gaussian-subvolume"))
    _, rows = one(spec, "points")
    assert len(rows) == 12
    series = [r["series"] for r in rows]
    assert {s.split(":")[0] for s in series} == {
        "exact",
        "direct, uncorrected",
        "vCLUB",
        "exact CLUB bound",
    }
    unit, joined = one(spec, "point-lines")
    assert len(joined) == 12 and mark_type(unit) == "line"
    assert unit["encoding"]["y"]["scale"]["type"] == "log"
    # fixed estimator colours: exact is black, vCLUB vermillion
    scale = unit["encoding"]["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"], strict=True))
    assert colours["exact"] == "#000000" and colours["vCLUB"] == "#D55E00"


def test_ratio_chart(mi, fits):
    spec = chart_spec(
        charts.ratio_chart(mi, fits, run_id="gaussian-exact", source="gaussian_subvolume")
    )
    _, rows = one(spec, "points")
    assert len(rows) == 24  # 8 lengths x ratios 2, 3, 4
    labels = sorted({r["series"] for r in rows})
    assert [label.split(":")[0] for label in labels] == ["L/ℓ = 2", "L/ℓ = 3", "L/ℓ = 4"]
    _, line = one(spec, "fit-line")
    assert len(line) == 3 * 60
    assert "exact" in spec["title"]["text"]


def test_power_band_is_the_statsmodels_confidence_band():
    rng = np.random.default_rng(0)
    x = 4.0 ** np.arange(1, 7)
    y = 0.3 * x**0.7 * np.exp(rng.normal(0, 0.05, x.size))
    se = y * rng.uniform(0.02, 0.08, x.size)
    for stderr in (None, se):
        comp = compare_laws(x, y, stderr)
        for fit, build, on_log in (
            (comp.power, _fitcurves.power_law_curve, True),
            (comp.log, _fitcurves.log_law_curve, False),
        ):
            row = fit.to_row()
            row["detail"] = json.dumps(row["detail"])
            curve = build(row, x, y, stderr, n=9)
            assert curve.band == "regression"
            pred = fit.result.get_prediction(sm.add_constant(np.log(curve.x)))
            ci = pred.conf_int(alpha=0.05)
            ci = np.exp(ci) if on_log else ci
            np.testing.assert_allclose(curve.lo, ci[:, 0], rtol=1e-9)
            np.testing.assert_allclose(curve.hi, ci[:, 1], rtol=1e-9)


def test_power_band_falls_back_to_the_pivot_band():
    row = {
        "amplitude": 2.0,
        "exponent": 0.5,
        "exponent_lo": 0.4,
        "exponent_hi": 0.6,
        "x_min": 4.0,
        "x_max": 256.0,
        "n_points": 4,
        "detail": None,  # no amplitude interval stored
    }
    curve = _fitcurves.power_law_curve(row, n=61)
    assert curve.band == "pivot"
    centre = 30  # geomspace(4, 256, 61)[30] is the log-centre sqrt(4·256) = 32
    assert curve.x[centre] == pytest.approx(32.0)
    assert curve.lo[centre] == pytest.approx(curve.hi[centre]) == pytest.approx(2 * 32**0.5)
    assert curve.hi[-1] == pytest.approx(2 * 32**0.5 * 8**0.6)  # slope β_hi from the centre
    assert curve.lo[0] == pytest.approx(2 * 32**0.5 * 8**-0.6)
    open_row = {**row, "exponent_lo": None}
    assert _fitcurves.power_law_curve(open_row).band == "none"


# --- two-point -----------------------------------------------------------------------------


def test_two_point_chart_with_floor_and_fit(two_point, fits):
    spec = chart_spec(charts.two_point_mi_chart(two_point, fits))
    unit, rows = one(spec, "points")
    by_series: dict[str, list[dict]] = {}
    for r in rows:
        by_series.setdefault(r["series"].split(" (")[0].split(":")[0], []).append(r)
    n = two_point.height
    assert len(by_series["I_d, uncorrected"]) == n
    assert len(by_series["shuffle baseline"]) == n
    positive_above = two_point.filter(pl.col("above_floor") > 0).height
    assert len(by_series["I_d − shuffle baseline"]) == positive_above
    decay = fits.filter(pl.col("law") == "decay", pl.col("run_id") == "corpus-embedded-neox")
    c = decay["offset_c"][0]
    assert len(by_series["I_d − C"]) == two_point.filter(pl.col("mi") > c).height
    assert unit["encoding"]["x"]["scale"]["type"] == "log"
    assert unit["encoding"]["y"]["scale"]["type"] == "log"
    assert "nats" in unit["encoding"]["y"]["title"]
    assert "distance" in unit["encoding"]["x"]["title"]
    _, line = one(spec, "fit-line")
    _, band = one(spec, "fit-band")
    assert len(line) == 2 * 60 and len(band) == 60
    alpha = decay["exponent"][0]
    assert any(f"α = {alpha:.3f}" in r["series"] for r in rows)
    assert "pivoting" in subtitle_text(spec)
    raw = next(r for r in line if r["series"].startswith("I_d, uncorrected"))
    assert raw["fit"] == pytest.approx(decay["amplitude"][0] * raw["x"] ** -alpha + c, rel=1e-9)


def test_two_point_chart_without_floor_or_fit(two_point):
    spec = chart_spec(
        charts.two_point_mi_chart(two_point.drop("floor", "floor_stderr", "above_floor"))
    )
    _, rows = one(spec, "points")
    assert len(rows) == two_point.height
    assert not named(spec, "fit-line")


def test_two_point_chart_refuses_several_runs(two_point):
    both = pl.concat([two_point, two_point.with_columns(pl.lit("other").alias("run_id"))])
    with pytest.raises(InputError, match="2 runs") as err:
        charts.two_point_mi_chart(both)
    assert "run_id=" in err.value.fix


# --- Gaussian families ---------------------------------------------------------------------


def test_gaussian_families_chart(mi, fits):
    spec = chart_spec(charts.gaussian_families_chart(mi, fits, run_id="gaussian-exact"))
    assert len(spec["hconcat"]) == 2
    left, right = spec["hconcat"]
    datasets = spec["datasets"]
    left_units = units({"datasets": datasets, **left})
    right_units = units({"datasets": datasets, **right})
    points_a = [r for u, r in left_units if is_named(u, "points")][0]
    points_b = [r for u, r in right_units if is_named(u, "points")][0]
    assert len(points_a) == 16 and len(points_b) == 16
    labels = {r["series"] for r in points_a}
    assert any("sub-volume" in s and "L^β" in s for s in labels)
    assert any("log (gaussian_log)" in s and "a·log L + b" in s for s in labels)
    line_a = [r for u, r in left_units if is_named(u, "fit-line")][0]
    log_curve = [r for r in line_a if "gaussian_log" in r["series"]]
    loglaw = fits.filter(
        (pl.col("run_id") == "gaussian-exact")
        & (pl.col("source") == "gaussian_log")
        & (pl.col("estimator") == "exact")
        & (pl.col("ratio") == 2)
        & (pl.col("law") == "log")
    ).row(0, named=True)
    r0 = log_curve[0]
    assert r0["fit"] == pytest.approx(loglaw["amplitude"] * math.log(r0["x"]) + loglaw["offset_c"])
    for u, _ in left_units + right_units:
        if is_named(u, "points"):
            assert u["encoding"]["y"]["scale"]["type"] == "log"
            assert "nats" in u["encoding"]["y"]["title"]


# --- position-wise and average KL / NLL ----------------------------------------------------


def synthetic_positions(seq_lens=(256, 1024), metric="kl", mismatch=0) -> pl.DataFrame:
    """Hand-made per-position frame in the layout of queries/position_kl.sql."""
    rng = np.random.default_rng(3)
    frames = []
    models = [("gpt2-124M", "gpt2", 0.0), ("mamba-130m", "mamba", 0.5)]
    for length in seq_lens:
        for model, arch, growth in models:
            pos = np.arange(length)
            value = 0.05 + growth * 0.01 * np.log1p(pos) + rng.normal(0, 0.002, length)
            frames.append(
                pl.DataFrame(
                    {
                        "run_id": f"{model}-L{length}",
                        "model": model,
                        "architecture": arch,
                        "seq_len": length,
                        "position": pos.astype(np.int32),
                        metric: value,
                        f"{metric}_stderr": np.full(length, 0.002),
                        "n": 64,
                        "n_token_mismatch": np.where(pos < mismatch, 1, 0),
                    }
                )
            )
    return pl.concat(frames)


def test_position_chart_real_nll_frame():
    frame = _read("query_position_nll")
    spec = chart_spec(charts.position_metric_chart(frame))
    unit, rows = one(spec, "metric-lines")
    assert len(rows) == frame.height == 512
    assert unit["encoding"]["x"]["field"] == "i" and unit["encoding"]["x"]["scale"]["type"] == "log"
    assert unit["encoding"]["y"]["field"] == "nll" and "nats" in unit["encoding"]["y"]["title"]
    assert min(r["i"] for r in rows) == 1  # 1-based position i = position + 1
    _, band = one(spec, "stderr-band")
    assert all(r["lo"] < r["nll"] < r["hi"] for r in band)
    assert "(L = 256)" in spec["title"]["text"]


def test_position_chart_kl_facets_drops_mismatches_and_bins():
    frame = synthetic_positions(mismatch=3)
    spec = chart_spec(charts.position_metric_chart(frame, bins=None))
    assert spec["facet"]["column"]["field"] == "seq_len"
    rows = spec["datasets"][spec["data"]["name"]] if "name" in spec["data"] else None
    rows = rows or spec["data"]["values"]
    assert len(rows) == frame.height - 4 * 3
    assert "12 positions with token mismatches" in subtitle_text(spec)
    binned = chart_spec(charts.position_metric_chart(frame, metric="kl", bins=20, seq_len=1024))
    _, rows = one(binned, "metric-lines")
    assert len({r["series"] for r in rows}) == 2
    assert len(rows) <= 2 * 20
    assert sum(r["positions"] for r in rows) == 2 * (1024 - 3)
    assert "20 log-spaced bins" in subtitle_text(binned)


def test_position_chart_log_y_drops_non_positive():
    frame = synthetic_positions(seq_lens=(256,)).with_columns(
        pl.when(pl.col("position") == 10).then(-0.01).otherwise(pl.col("kl")).alias("kl")
    )
    spec = chart_spec(charts.position_metric_chart(frame, log_y=True))
    unit, rows = one(spec, "metric-lines")
    assert len(rows) == frame.height - 2
    assert unit["encoding"]["y"]["scale"]["type"] == "log"
    assert "2 values ≤ 0 not shown" in subtitle_text(spec)


def test_average_metric_chart_synthetic_and_real():
    frame = pl.DataFrame(
        {
            "model": ["gpt2-124M"] * 3 + ["mamba-130m"] * 3,
            "architecture": ["gpt2"] * 3 + ["mamba"] * 3,
            "train_length": [256, 1024, 4096] * 2,
            "avg_kl": [0.051, 0.050, 0.050, 0.055, 0.068, 0.14],
            "avg_kl_stderr": [0.001] * 6,
        }
    )
    spec = chart_spec(charts.average_metric_chart(frame))
    unit, rows = one(spec, "points")
    assert len(rows) == 6
    assert unit["encoding"]["x"]["scale"]["type"] == "log"
    assert unit["encoding"]["x"]["axis"]["values"] == [256.0, 1024.0, 4096.0]
    assert "nats" in unit["encoding"]["y"]["title"]
    assert one(spec, "error-bars")[1]
    real = _read("query_average_metrics")  # no avg_kl values: NLL is picked
    spec = chart_spec(charts.average_metric_chart(real))
    unit, rows = one(spec, "points")
    assert len(rows) == 2 and unit["encoding"]["y"]["field"] == "avg_nll"


# --- L2M -----------------------------------------------------------------------------------


def synthetic_states(lengths=(256, 1024, 4096, 16384)) -> pl.DataFrame:
    rows = []
    for length in lengths:
        rows.append(("gpt2-124M", "transformer", length, 2 * 12 * 768 * (length // 2 - 1)))
        rows.append(("mamba-130m", "ssm", length, 24 * 1536 * 16))
    return pl.DataFrame(rows, schema=["model", "architecture", "length", "state_dim"], orient="row")


def test_l2m_chart(mi, fits):
    required = mi.filter(
        (pl.col("run_id") == "gaussian-exact") & (pl.col("source") == "gaussian_subvolume")
    )
    fit = fits.filter(
        (pl.col("run_id") == "gaussian-exact")
        & (pl.col("source") == "gaussian_subvolume")
        & (pl.col("estimator") == "exact")
        & (pl.col("ratio") == 2)
        & (pl.col("law") == "power")
    )
    states = synthetic_states((256, 1024, 100_000))  # 100 000 is not measured: from the fit
    spec = chart_spec(charts.l2m_chart(states, required, fit=fit))
    assert len(spec["hconcat"]) == 2
    _, rows = one(spec, "points")
    assert len(rows) == 6
    measured = required.filter((pl.col("ratio") == 2) & (pl.col("length") == 1024))["value"][0]
    gpt = next(r for r in rows if r["model"] == "gpt2-124M" and r["length"] == 1024)
    assert gpt["required_mi"] == pytest.approx(measured) and gpt["how"] == "measured"
    assert gpt["dim_per_nat"] == pytest.approx(2 * 12 * 768 * 511 / measured)
    far = next(r for r in rows if r["length"] == 100_000)
    amp, beta = fit["amplitude"][0], fit["exponent"][0]
    assert far["required_mi"] == pytest.approx(amp * 100_000**beta)
    assert far["how"] == "power-law fit, extrapolated"
    unit, _ = one(spec, "points")
    assert (
        unit["encoding"]["x"]["scale"]["type"] == "log" and "nats" in unit["encoding"]["x"]["title"]
    )
    assert unit["encoding"]["y"]["scale"]["type"] == "log"
    _, guide = one(spec, "reference")
    assert len(guide) == 2
    slope = math.log(guide[1]["state_dim"] / guide[0]["state_dim"]) / math.log(
        guide[1]["required_mi"] / guide[0]["required_mi"]
    )
    assert slope == pytest.approx(1.0)
    _, ratio = one(spec, "ratio-points")
    ssm = sorted((r["length"], r["dim_per_nat"]) for r in ratio if r["model"] == "mamba-130m")
    assert ssm[0][1] > ssm[1][1] > ssm[2][1]  # a fixed state per nat falls with L


def test_l2m_chart_needs_required_mi():
    with pytest.raises(InputError, match="neither `required` nor `fit`"):
        charts.l2m_chart(synthetic_states())
    with pytest.raises(InputError, match="no state length has a required I_BP") as err:
        charts.l2m_chart(synthetic_states((8,)), pl.DataFrame({"length": [4], "value": [1.0]}))
    assert "fit=" in err.value.fix


# --- input errors --------------------------------------------------------------------------


EMPTY = pl.DataFrame({"x": []})


@pytest.mark.parametrize(
    ("builder", "kwargs", "missing"),
    [
        (charts.bipartite_mi_chart, {}, "length"),
        (charts.estimator_comparison_chart, {}, "length"),
        (charts.ratio_chart, {}, "length"),
        (charts.two_point_mi_chart, {}, "distance"),
        (charts.gaussian_bipartite_chart, {}, "source"),
        (charts.gaussian_two_point_chart, {}, "source"),
        (charts.gaussian_families_chart, {}, "source"),
        (charts.position_metric_chart, {}, "position"),
        (charts.average_metric_chart, {}, "model"),
        (charts.l2m_chart, {}, "model"),
    ],
)
def test_builders_refuse_missing_columns_and_empty_frames(builder, kwargs, missing):
    with pytest.raises(InputError) as err:
        builder(pl.DataFrame({"unrelated": [1.0]}), **kwargs)
    assert missing in err.value.problem and err.value.fix
    assert builder.__name__.split("_chart")[0] in err.value.problem or "chart" in err.value.problem
    with pytest.raises(InputError, match="no rows|lacks columns") as err:
        builder(EMPTY, **kwargs)
    assert err.value.fix


def test_builders_name_the_filter_that_left_nothing(mi):
    with pytest.raises(InputError, match="run_id='nope'") as err:
        charts.bipartite_mi_chart(mi, run_id="nope")
    assert "oracle-gaussian-log" in err.value.fix
    with pytest.raises(InputError, match="lacks columns"):
        charts.bipartite_mi_chart(mi, pl.DataFrame({"estimator": ["direct"]}))
    with pytest.raises(InputError, match="not a Polars DataFrame"):
        charts.bipartite_mi_chart([{"length": 4, "value": 1.0}])


def test_chart_spec_refuses_nan():
    chart = alt.Chart(alt.InlineData(values=[{"x": float("nan")}])).mark_point().encode(x="x:Q")
    with pytest.raises(InputError, match="NaN"):
        chart_spec(chart)


# --- theme and rendering -------------------------------------------------------------------


def test_theme_is_registered_once_and_applied(mi):
    assert register_theme() == register_theme() == THEME_NAME
    assert alt.theme.names().count(THEME_NAME) == 1
    spec = chart_spec(charts.estimator_comparison_chart(mi, run_id="oracle-gaussian-log"))
    assert spec["config"]["font"] == FONT
    assert spec["config"]["axis"]["titleFontSize"] == 12


def _count(svg: str, pattern: str) -> int:
    return len(re.findall(pattern, svg))


def test_png_and_svg_of_real_frames(tmp_path, mi, fits, two_point):
    chart = charts.bipartite_mi_chart(mi, fits, run_id="oracle-gaussian-subvolume")
    png = charts.save_chart(chart, tmp_path / "bipartite.png")
    svg = charts.save_chart(chart, tmp_path / "bipartite.svg")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 600 and height > 500  # scale 2
    text = svg.read_text()
    assert text.lstrip().startswith("<svg")
    # 6 points (symbol paths), 2 fit lines and 2 bands (line/area paths), 6 error bars (rules)
    assert _count(text, r'class="mark-symbol role-mark') >= 1
    symbols = re.search(r'class="mark-symbol role-mark points_marks".*?</g>', text, re.S)
    assert symbols and _count(symbols.group(0), "<path") == 6
    assert _count(text, "<path") >= 6 + 2 + 2
    assert _count(text, "<line") >= 6  # error-bar rules
    tp_svg = charts.to_svg(charts.two_point_mi_chart(two_point, fits))
    assert _count(tp_svg, "<path") > 4 * two_point.height - 4
    spec = json.loads(charts.save_chart(chart, tmp_path / "spec.json").read_text())
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    page = charts.save_chart(chart, tmp_path / "one.html").read_text()
    assert "<script" in page and "cdn.jsdelivr" not in page
    with pytest.raises(InputError, match="unknown format"):
        charts.save_chart(chart, tmp_path / "chart.gif")
