"""Fig. 2 e–f, A.4: two-point MI against d from queries/two_point_mi.sql, with the shuffle floor,
the signal above it, I_d − C and the stored decay fit."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from l2m_analysis import charts
from l2m_analysis.charts.render import chart_spec
from l2m_analysis.errors import InputError
from tests.chart_specs import named, one, read, subtitle_text


@pytest.fixture(scope="module")
def two_point() -> pl.DataFrame:
    return read("query_two_point_mi")


def test_floor_signal_and_decay_fit(two_point):
    fits = read("table_fits")
    spec = chart_spec(charts.two_point_mi_chart(two_point, fits))
    unit, rows = one(spec, "points")
    by = {}
    for r in rows:
        by.setdefault(r["series"].split(" (")[0].split(":")[0], []).append(r)
    decay = fits.filter(law="decay", run_id="corpus-embedded-neox").row(0, named=True)
    c, a, alpha = decay["offset_c"], decay["amplitude"], decay["exponent"]
    assert len(by["I_d, uncorrected"]) == len(by["shuffle baseline"]) == two_point.height == 14
    assert len(by["I_d − shuffle baseline"]) == two_point.filter(pl.col("above_floor") > 0).height
    assert len(by["I_d − C"]) == two_point.filter(pl.col("mi") > c).height
    minus_c = sorted(by["I_d − C"], key=lambda r: r["x"])
    expect = two_point.filter(pl.col("mi") > c).sort("distance")
    np.testing.assert_allclose([r["y"] for r in minus_c], expect["mi"] - c, rtol=1e-12)
    assert unit["encoding"]["x"]["scale"]["type"] == unit["encoding"]["y"]["scale"]["type"] == "log"
    assert "distance" in unit["encoding"]["x"]["title"] and "nats" in unit["encoding"]["y"]["title"]
    _, line = one(spec, "fit-line")
    _, band = one(spec, "fit-band")
    assert len(line) == 2 * 60 and len(band) == 60  # A·d^−α + C (no band) and A·d^−α (pivot)
    raw = [r for r in line if r["series"].startswith("I_d, uncorrected")]
    np.testing.assert_allclose([r["fit"] for r in raw], [a * r["x"] ** -alpha + c for r in raw])
    assert any(f"α = {alpha:.3f}" in r["series"] for r in rows)
    assert "pivoting" in subtitle_text(spec)
    # the pivot band: lines through A·d_c^−α at d_c = √(d_min·d_max), slopes −α_hi and −α_lo
    d_c = np.sqrt(decay["x_min"] * decay["x_max"])
    last = max(band, key=lambda r: r["x"])
    y_c = a * d_c**-alpha
    ends = sorted(
        y_c * (last["x"] / d_c) ** -s for s in (decay["exponent_lo"], decay["exponent_hi"])
    )
    assert [last["band_lo"], last["band_hi"]] == pytest.approx(ends, rel=1e-12)


def test_without_floor_or_fit(two_point):
    bare = two_point.with_columns(pl.lit(None, dtype=pl.Float64).alias(c)
                                  for c in ("floor", "floor_stderr", "above_floor"))  # fmt: skip
    spec = chart_spec(charts.two_point_mi_chart(bare))
    assert len(one(spec, "points")[1]) == two_point.height
    assert not named(spec, "fit-line")


def test_one_run_per_chart(two_point):
    both = pl.concat([two_point, two_point.with_columns(run_id=pl.lit("other"))])
    with pytest.raises(InputError, match="2 runs") as err:
        charts.two_point_mi_chart(both)
    assert "other" in err.value.fix
