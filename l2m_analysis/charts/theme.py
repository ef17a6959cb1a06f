"""The one chart theme of the toolkit: fonts, sizes, palette, and the fixed colours of series.

``register_theme()`` registers the Altair theme ``"l2m"`` once (importing
``l2m_analysis.charts`` calls it and enables the theme, so notebook charts use it). The render
helpers (``charts.render``) and the HTML report always apply it explicitly, so saved files look
the same whatever theme a notebook has enabled since.

Colours are the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies).
Estimators and model families keep one colour in every chart (``ESTIMATOR_COLORS``,
``color_scale``), so "vclub" is the same orange in Fig. 2, A.1 and A.3.
"""

from __future__ import annotations

import altair as alt

THEME_NAME = "l2m"

# Okabe & Ito (2008), in the order series get them when no fixed colour applies.
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow (last: poor contrast on white)
)
GREY = "#7F7F7F"

# Fixed colours of the estimators (mi_estimates.estimator).
ESTIMATOR_COLORS = {
    "direct": "#0072B2",
    "direct_uncorrected": "#56B4E9",
    "vclub": "#D55E00",
    "exact": "#000000",
    "exact_vclub": "#CC79A7",
    "exact_pair_average": "#009E73",
    "grassberger": "#0072B2",
    "grassberger_shuffled": GREY,
}

# How the estimators are named in legends.
ESTIMATOR_LABELS = {
    "direct": "direct (2-gram corrected)",
    "direct_uncorrected": "direct, uncorrected",
    "vclub": "vCLUB",
    "exact": "exact",
    "exact_vclub": "exact CLUB bound",
    "exact_pair_average": "exact, pair average",
    "grassberger": "Grassberger",
    "grassberger_shuffled": "shuffle baseline",
}

FONT = "DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif"
WIDTH = 440
HEIGHT = 300


def theme_config() -> dict:
    """The theme as a Vega-Lite top-level fragment (``{"config": ...}``)."""
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "padding": 8,
            "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": "#DDDDDD"},
            "title": {
                "fontSize": 15,
                "fontWeight": "bold",
                "anchor": "start",
                "subtitleFontSize": 11,
                "subtitleColor": "#555555",
                "subtitlePadding": 4,
                "offset": 10,
            },
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleFontWeight": "normal",
                "gridColor": "#E6E6E6",
                "domainColor": "#888888",
                "tickColor": "#888888",
                "labelColor": "#333333",
                "titleColor": "#222222",
            },
            "legend": {
                "labelFontSize": 11,
                "titleFontSize": 11,
                "symbolSize": 70,
                "labelLimit": 520,
                "titleLimit": 400,
                "orient": "bottom",
                "direction": "vertical",
                "titleAnchor": "start",
            },
            "header": {"labelFontSize": 12, "titleFontSize": 12},
            "range": {"category": list(PALETTE)},
            "point": {"size": 45, "filled": True},
            "line": {"strokeWidth": 2},
            "rule": {"strokeWidth": 1.2},
            "concat": {"spacing": 28},
        }
    }


def register_theme() -> str:
    """Register the ``"l2m"`` Altair theme (idempotent) and return its name."""
    if THEME_NAME not in alt.theme.names():
        alt.theme.register(THEME_NAME, enable=False)(lambda: alt.theme.ThemeConfig(theme_config()))
    return THEME_NAME


def use_theme() -> None:
    """Register and enable the theme for every chart shown from now on (e.g. in a notebook)."""
    alt.theme.enable(register_theme())


def color_scale(labels: list[str], fixed: dict[str, str] | None = None) -> alt.Scale:
    """A categorical colour scale over ``labels``: fixed colours first, then the palette.

    ``fixed`` maps a label (or its key, see ``series_key``) to a colour; the remaining labels get
    the palette colours not already used, in order.
    """
    fixed = fixed or {}
    used = {c for c in fixed.values()}
    spare = [c for c in PALETTE if c not in used] or list(PALETTE)
    colours, n_free = [], 0
    for label in labels:
        colour = fixed.get(label)
        if colour is None:
            colour = spare[n_free % len(spare)]
            n_free += 1
        colours.append(colour)
    return alt.Scale(domain=list(labels), range=colours)
