"""Render charts offline with vl-convert: Vega-Lite spec, SVG, PNG, a one-chart HTML page.

vl-convert (the ``vl-convert-python`` package) embeds the Vega, Vega-Lite and Vega-Embed
JavaScript and a renderer: nothing is fetched, no browser is needed. Every function applies
the ``"l2m"`` theme (``charts.theme``) so files look the same whatever theme a notebook has
enabled.

    from l2m_analysis.charts import bipartite_mi_chart, save_chart
    save_chart(bipartite_mi_chart(estimates, fits), "fig2b.png")   # or .svg, .json, .html
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import altair as alt
import vl_convert as vlc

from l2m_analysis.charts.theme import THEME_NAME, register_theme
from l2m_analysis.errors import InputError

FORMATS = (".png", ".svg", ".json", ".html")


@lru_cache(maxsize=1)
def vegalite_version() -> str | None:
    """The Vega-Lite version vl-convert should compile with: Altair's schema (major.minor) when
    vl-convert bundles it, else None (vl-convert's newest)."""
    wanted = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    return wanted if wanted in vlc.get_vegalite_versions() else None


def chart_spec(chart: alt.TopLevelMixin, *, theme: str | None = THEME_NAME) -> dict:
    """``chart.to_dict()`` under the theme; a spec with NaN/inf (invalid JSON) is refused."""
    if not isinstance(chart, alt.TopLevelMixin):
        raise InputError(
            f"expected an Altair chart, got {type(chart).__name__}",
            "pass the chart a builder of l2m_analysis.charts returned",
        )
    if theme is None:
        spec = chart.to_dict()
    else:
        if theme == THEME_NAME:
            register_theme()
        with alt.theme.enable(theme):
            spec = chart.to_dict()
    try:
        json.dumps(spec, allow_nan=False)
    except ValueError as err:
        raise InputError(
            "the chart's data holds NaN or infinity, which JSON (and the browser) cannot read",
            "drop or null those values before building the chart",
        ) from err
    return spec


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an SVG document (text)."""
    return vlc.vegalite_to_svg(chart_spec(chart), vl_version=vegalite_version())


def to_png(chart: alt.TopLevelMixin, *, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes; ``scale`` 2 gives sharp images on high-DPI screens and paper."""
    return vlc.vegalite_to_png(chart_spec(chart), vl_version=vegalite_version(), scale=scale)


def to_html(chart: alt.TopLevelMixin) -> str:
    """A self-contained one-chart HTML page (the JavaScript is inlined; opens offline)."""
    return vlc.vegalite_to_html(chart_spec(chart), vl_version=vegalite_version(), bundle=True)


def save_chart(chart: alt.TopLevelMixin, path: str | Path, *, scale: float = 2.0) -> Path:
    """Write the chart in the format its suffix names: .png, .svg, .json (the Vega-Lite spec)
    or .html (one self-contained page)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        path.write_bytes(to_png(chart, scale=scale))
        return path
    writers = {".svg": to_svg, ".html": to_html, ".json": lambda c: json.dumps(chart_spec(c))}
    if suffix in writers:
        path.write_text(writers[suffix](chart), encoding="utf-8")
        return path
    raise InputError(
        f"cannot save a chart as {path.name!r}: unknown format {suffix or '(none)'}",
        f"use one of {', '.join(FORMATS)}",
    )
