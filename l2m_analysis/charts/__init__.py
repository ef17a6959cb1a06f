"""Altair chart builders for the L²M figures, rendering helpers and the offline HTML report.

Builders are pure functions: Polars frames (query outputs or warehouse tables) in, an Altair
chart out; see docs/charts.md for each builder's input contract. Importing this package
registers and enables the ``"l2m"`` theme (``charts.theme``).
"""

from l2m_analysis.charts.average import average_metric_chart
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
from l2m_analysis.charts.position import position_metric_chart
from l2m_analysis.charts.render import (
    chart_spec,
    save_chart,
    save_png,
    save_svg,
    to_html,
    to_png,
    to_svg,
)
from l2m_analysis.charts.report_html import ReportSection, build_report_html, write_report_html
from l2m_analysis.charts.report_tables import exponents_table
from l2m_analysis.charts.theme import register_theme, use_theme
from l2m_analysis.charts.two_point import two_point_mi_chart

use_theme()

__all__ = [
    "ReportSection",
    "average_metric_chart",
    "bipartite_mi_chart",
    "build_report_html",
    "chart_spec",
    "estimator_comparison_chart",
    "exponents_table",
    "gaussian_bipartite_chart",
    "gaussian_families_chart",
    "gaussian_two_point_chart",
    "l2m_chart",
    "position_metric_chart",
    "ratio_chart",
    "register_theme",
    "save_chart",
    "save_png",
    "save_svg",
    "to_html",
    "to_png",
    "to_svg",
    "two_point_mi_chart",
    "use_theme",
    "write_report_html",
]
