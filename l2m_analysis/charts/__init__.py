"""Altair chart builders for the L²M figures and their offline rendering.

Builders are pure functions: the output of a named query (or rows of a warehouse table) as a
Polars frame in, an Altair chart out; docs/charts.md gives each builder's input. Importing
this package registers and enables the ``"l2m"`` theme (``charts.theme``). The HTML report
that assembles them is ``l2m_analysis.report``.
"""

from l2m_analysis.charts.bipartite import (
    bipartite_mi_chart,
    estimator_comparison_chart,
    ratio_chart,
)
from l2m_analysis.charts.gaussian import (
    gaussian_bipartite_chart,
    gaussian_families_chart,
    gaussian_two_point_chart,
)
from l2m_analysis.charts.l2m import l2m_chart
from l2m_analysis.charts.position import average_metric_chart, position_metric_chart
from l2m_analysis.charts.render import chart_spec, save_chart, to_html, to_png, to_svg
from l2m_analysis.charts.theme import register_theme, use_theme
from l2m_analysis.charts.trained_q import trained_q_chart
from l2m_analysis.charts.two_point import two_point_mi_chart

use_theme()

__all__ = [
    "average_metric_chart",
    "bipartite_mi_chart",
    "chart_spec",
    "estimator_comparison_chart",
    "gaussian_bipartite_chart",
    "gaussian_families_chart",
    "gaussian_two_point_chart",
    "l2m_chart",
    "position_metric_chart",
    "ratio_chart",
    "trained_q_chart",
    "register_theme",
    "save_chart",
    "to_html",
    "to_png",
    "to_svg",
    "two_point_mi_chart",
    "use_theme",
]
