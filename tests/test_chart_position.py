"""Fig. 4 c–d, 5, F.5–F.7 (per-position KL/NLL) and Fig. 4 a–b (averages per training length),
from the training_* and position_* queries."""

from __future__ import annotations

import polars as pl
import pytest

from l2m_analysis import charts
from l2m_analysis.charts.render import chart_spec
from l2m_analysis.errors import InputError
from tests.chart_specs import one, read, subtitle_text, synthetic_positions


def test_trained_models_kl_from_the_training_curves_query():
    curves = read("query_training_position_curves").filter(data="gaussian")
    spec = chart_spec(charts.position_metric_chart(curves, metric="kl"))
    unit, rows = one(spec, "metric-lines")
    assert len(rows) == curves.height == 3 * 16
    enc = unit["encoding"]
    assert enc["x"]["field"] == "i" and enc["x"]["scale"]["type"] == "log"
    assert enc["y"]["field"] == "kl" and "nats" in enc["y"]["title"]
    assert enc["strokeDash"]["field"] == "arch"
    assert min(r["i"] for r in rows) == 1  # 1-based position i = position + 1
    gpt = {r["i"]: r["kl"] for r in rows if r["series"] == "gpt2-tiny"}
    expect = curves.filter(model="gpt2-tiny").sort("position")["kl"].to_list()
    assert [gpt[i] for i in sorted(gpt)] == pytest.approx(expect)
    _, band = one(spec, "stderr-band")
    assert all(r["lo"] <= r["kl"] <= r["hi"] for r in band)
    assert "(L = 16)" in spec["title"]["text"]


def test_scored_runs_nll_from_the_position_nll_query():
    nll = read("query_position_nll")
    spec = chart_spec(charts.position_metric_chart(nll, metric="nll"))
    assert len(one(spec, "metric-lines")[1]) == nll.height == 3 * 256
    assert "differential cross entropy" in subtitle_text(spec)


def test_panels_per_length_token_mismatches_and_binning():
    frame = synthetic_positions(mismatch=3)
    spec = chart_spec(charts.position_metric_chart(frame, metric="kl"))
    assert spec["facet"]["column"]["field"] == "seq_len"
    rows = spec["datasets"][spec["data"]["name"]]
    assert len(rows) == frame.height - 4 * 3
    assert "12 positions whose tokens differ" in subtitle_text(spec)
    big = synthetic_positions(seq_lens=(16384,))
    spec = chart_spec(charts.position_metric_chart(big, metric="kl"))
    _, rows = one(spec, "metric-lines")
    assert len({r["series"] for r in rows}) == 2 and len(rows) <= 2 * 200
    assert sum(r["positions"] for r in rows) == big.height
    assert "200 log-spaced bins" in subtitle_text(spec)


def test_average_kl_against_the_training_length():
    averages = read("query_training_average_kl")
    spec = chart_spec(charts.average_metric_chart(averages))
    unit, rows = one(spec, "points")
    assert len(rows) == averages.height == 3
    assert unit["encoding"]["x"]["scale"]["type"] == "log"
    assert unit["encoding"]["x"]["axis"]["values"] == [16.0]
    assert "one training length only" in subtitle_text(spec)
    _, bars = one(spec, "error-bars")
    assert all(r["hi"] - r["avg_kl"] == pytest.approx(1.959964 * r["avg_kl_stderr"]) for r in bars)
    many = pl.concat(
        [averages, averages.with_columns(train_length=64, avg_kl=pl.col("avg_kl") * 2)]
    )
    assert "one training length" not in subtitle_text(chart_spec(charts.average_metric_chart(many)))


def test_metric_and_columns_are_checked():
    with pytest.raises(InputError, match="metric='x'"):
        charts.position_metric_chart(synthetic_positions(), metric="x")
    with pytest.raises(InputError, match="no `kl` values"):
        charts.position_metric_chart(read("query_training_position_curves").filter(data="text"),
                                     metric="kl")  # fmt: skip
