"""The one chart theme of the toolkit: fonts, sizes, palette, and the fixed colours of series.

Its fonts, sizes, axes and legends are the Vega-Lite config in ``theme.json``.
``register_theme()`` registers the Altair theme ``"l2m"`` once (importing
``l2m_analysis.charts`` calls it and enables the theme, so notebook charts use it). The render
helpers (``charts.render``) and the HTML report always apply it explicitly, so saved files look
the same whatever theme a notebook has enabled since.

Colours are the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies).
Estimators keep one colour in every chart (``ESTIMATOR_COLORS``, ``colour_scale``), so
"vclub" is the same vermillion in Fig. 2, A.1 and A.3.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources

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
    "compression_lzma": "#E69F00",
    "compression_lzma_iid": "#F0E442",
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
    "compression_lzma": "lzma compression",
    "compression_lzma_iid": "lzma on i.i.d. tokens (redundancy, MI 0)",
    "grassberger": "Grassberger",
    "grassberger_shuffled": "shuffle baseline",
    "grassberger_minus_baseline": "Grassberger − shuffle baseline",
}


def theme_config() -> dict:
    """The theme as a Vega-Lite top-level fragment (``{"config": ...}``): fonts, sizes, axes
    and legends from ``theme.json`` (package data), the category colours from ``PALETTE``."""
    config = json.loads(resources.files("l2m_analysis.charts").joinpath("theme.json").read_text())
    config["config"]["range"] = {"category": list(PALETTE)}
    return config


def register_theme() -> str:
    """Register the ``"l2m"`` Altair theme (idempotent) and return its name."""
    if THEME_NAME not in alt.theme.names():
        alt.theme.register(THEME_NAME, enable=False)(lambda: alt.theme.ThemeConfig(theme_config()))
    return THEME_NAME


def use_theme() -> None:
    """Register and enable the theme for every chart shown from now on (e.g. in a notebook)."""
    alt.theme.enable(register_theme())


def colour_scale(colours: Iterable[str] | dict[str, str | None]) -> alt.Scale:
    """A categorical scale over the labels ``colours`` (in order): each its fixed colour when
    ``colours`` maps it to one, else the next palette colour not fixed elsewhere."""
    colours = colours if isinstance(colours, dict) else dict.fromkeys(colours)
    spare = [c for c in PALETTE if c not in colours.values()] or list(PALETTE)
    free = iter(spare * len(colours))
    return alt.Scale(domain=list(colours), range=[c or next(free) for c in colours.values()])
