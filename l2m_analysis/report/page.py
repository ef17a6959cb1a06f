"""The report's HTML document: security policy, package-data CSS and scripts, inlined charts.

The page opens offline and is inert: ``CSP`` forbids every network request; the CSS and the two
page scripts ship as package data (``report/assets``); ``escape`` HTML-escapes every text.

* ``mode="interactive"``: vl-convert's Vega, Vega-Lite and Vega-Embed bundle (~0.9 MB) is
  inlined once, each chart's spec as JSON (``json_for_script``: it cannot close its script
  element), and the browser draws SVG with tooltips. Each chart container then gets
  ``data-rendered="true"`` (or ``"failed"``), the body ``data-l2m-done="true"`` when all are
  done, and script errors, console errors/warnings and requests the policy blocked are written
  into ``<pre id="l2m-errors">`` (``assets/collect_errors.js``; ``tests/browser.py`` reads it).
* ``mode="static"``: each chart is inline SVG rendered by vl-convert; no script at all.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import altair as alt
import vl_convert as vlc

from l2m_analysis.charts.render import chart_spec, to_svg, vegalite_version

Mode = Literal["interactive", "static"]
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)
CSP_STATIC = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"


@dataclass(frozen=True)
class Figure:
    """One chart of the report: its anchor (id and image file name), heading, chart, caption."""

    anchor: str
    title: str
    chart: alt.TopLevelMixin
    caption: str = ""


def asset(name: str) -> str:
    """The text of ``report/assets/<name>`` (package data)."""
    return resources.files("l2m_analysis.report").joinpath("assets", name).read_text("utf-8")


@lru_cache(maxsize=2)
def javascript_bundle(vl_version: str | None) -> str:
    """vl-convert's Vega-Embed + Vega-Lite + Vega bundle, any literal ``</script`` escaped."""
    bundle = vlc.javascript_bundle(vl_version=vl_version)
    return bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def json_for_script(spec: dict) -> str:
    """JSON that cannot break out of a <script> element (and stays valid JSON)."""
    text = json.dumps(spec, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, code)
    return text


def escape(value: object) -> str:
    """HTML-escaped text (quotes too); None is the empty string."""
    return html.escape("" if value is None else str(value), quote=True)


def figure_html(fig: Figure, index: int, mode: Mode) -> tuple[str, str | None]:
    """(the figure's HTML, its spec script or None): the spec inlined as JSON for the browser
    to draw (interactive), or the chart as inline SVG (static)."""
    caption = f'<p class="caption">{escape(fig.caption)}</p>' if fig.caption else ""
    head = f'<figure id="{escape(fig.anchor)}"><h3>{escape(fig.title)}</h3>'
    if mode == "static":
        div = f'<div class="l2m-chart" id="chart-{index}" data-rendered="true">'
        return f"{head}{div}{to_svg(fig.chart)}</div>{caption}</figure>", None
    div = (
        f'<div class="l2m-chart" id="chart-{index}" data-spec="spec-{index}" '
        f'data-rendered="pending" role="img" aria-label="{escape(fig.title)}"></div>'
    )
    spec = json_for_script(chart_spec(fig.chart))
    return head + div + caption + "</figure>", (
        f'<script type="application/json" id="spec-{index}">{spec}</script>'
    )


def document(title: str, body: list[str], scripts: list[str], mode: Mode) -> str:
    """The whole page: head (policy, CSS, and in interactive mode the error collector and the
    Vega bundle), ``body`` (HTML blocks), then the spec ``scripts`` and the embedding script."""
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        f'content="{CSP if mode == "interactive" else CSP_STATIC}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="l2m_analysis.report ({mode})">',
        f"<title>{escape(title)}</title>",
        f"<style>{asset('report.css')}</style>",
    ]
    tail: list[str] = []
    if mode == "interactive":
        head += [
            f"<script>{asset('collect_errors.js')}</script>",
            f"<script>{javascript_bundle(vegalite_version())}</script>",
        ]
        tail = [*scripts, f"<script>{asset('embed.js')}</script>"]
    done = "" if mode == "interactive" else ' data-l2m-done="true"'
    return "\n".join([*head, f"</head><body{done}>", *body, *tail, "</body></html>"])
