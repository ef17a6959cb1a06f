"""One self-contained HTML report: title, fitted-exponents table, every chart, the run records.

    from l2m_analysis.charts import ReportSection, write_report_html
    write_report_html(
        "report.html",
        [ReportSection("Bipartite MI (Fig. 2)", bipartite_mi_chart(mi, fits), caption="...")],
        exponents=fitted_exponents_frame,   # queries/fitted_exponents.sql (or fits rows)
        runs=runs_frame,                    # the runs table
    )

The file opens offline, from disk, with no CDN. Two modes:

* ``mode="interactive"`` (default): the Vega, Vega-Lite and Vega-Embed JavaScript
  (``vl_convert.javascript_bundle``, ~0.9 MB) is inlined once, each chart's Vega-Lite spec is
  inlined as JSON, and the browser draws SVG with tooltips.
* ``mode="static"``: each chart is an inline SVG rendered by vl-convert; no JavaScript at all
  (smaller for few charts, no tooltips).

A Content-Security-Policy meta tag forbids every network request (``default-src 'none'``),
so a report that tried to load anything would fail visibly rather than silently. All text
from frames, titles and captions is HTML-escaped; specs are embedded as JSON with ``<``, ``>``
and ``&`` escaped, so no data value can close the script element.

In interactive mode each chart container gets ``data-rendered="true"`` once drawn (or
``"failed"``), ``<body data-l2m-done="true">`` when all are done, and any script error or
``console.error``/``console.warn`` and any request the security policy blocked is also written
into ``<pre id="l2m-errors">``: what the headless-browser test (``charts.browser``) checks.

This module assembles the page; the tables are built in ``charts.report_tables``
(``exponents_table`` is also importable from here), the CSS, scripts, security policy,
escaping and the inlined bundle are in ``charts._report_assets``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import altair as alt
import polars as pl

from l2m_analysis.charts._report_assets import (
    CSP,
    CSP_STATIC,
    CSS,
    EMBED,
    ERROR_COLLECTOR,
    escape,
    javascript_bundle,
    json_for_script,
)
from l2m_analysis.charts.render import chart_spec, to_svg, vegalite_version
from l2m_analysis.charts.report_tables import (
    EXPONENTS_CAPTION,
    exponents_html,
    exponents_table,
    runs_html,
)
from l2m_analysis.errors import InputError

__all__ = ["Mode", "ReportSection", "build_report_html", "exponents_table", "write_report_html"]

Mode = Literal["interactive", "static"]


@dataclass(frozen=True)
class ReportSection:
    """One chart of the report: a heading, the chart and an optional caption (plain text)."""

    title: str
    chart: alt.TopLevelMixin
    caption: str | None = None


def _sections(sections: Sequence[ReportSection | tuple]) -> list[ReportSection]:
    out = []
    for i, s in enumerate(sections):
        if isinstance(s, ReportSection):
            out.append(s)
        elif isinstance(s, tuple) and 2 <= len(s) <= 3:
            out.append(ReportSection(*s))
        else:
            raise InputError(
                f"build_report_html: section {i} is a {type(s).__name__}",
                "pass ReportSection(title, chart, caption) or (title, chart[, caption]) tuples",
            )
        if not isinstance(out[-1].chart, alt.TopLevelMixin):
            raise InputError(
                f"build_report_html: section {i} ({out[-1].title!r}) holds a "
                f"{type(out[-1].chart).__name__}, not an Altair chart",
                "pass the chart a builder of l2m_analysis.charts returned",
            )
    return out


def _chart_html(i: int, section: ReportSection, mode: Mode) -> tuple[str, str | None]:
    """(the chart's container, its spec script or None): the spec inlined as JSON for the
    browser to draw (interactive), or the chart as inline SVG (static)."""
    if mode == "static":
        div = f'<div class="l2m-chart" id="chart-{i}" data-rendered="true">{to_svg(section.chart)}'
        return div + "</div>", None
    spec = json_for_script(chart_spec(section.chart))
    return (
        f'<div class="l2m-chart" id="chart-{i}" data-spec="spec-{i}" '
        f'data-rendered="pending" role="img" aria-label="{escape(section.title)}"></div>',
        f'<script type="application/json" id="spec-{i}">{spec}</script>',
    )


def build_report_html(
    sections: Sequence[ReportSection | tuple],
    *,
    title: str = "L²M analysis report",
    exponents: pl.DataFrame | None = None,
    runs: pl.DataFrame | None = None,
    intro: str | None = None,
    mode: Mode = "interactive",
    generated_at: dt.datetime | str | None = None,
) -> str:
    """The report as one HTML string (see the module docstring for what it holds).

    sections: ``ReportSection`` (or ``(title, chart[, caption])`` tuples), in order.
    exponents: the fitted-exponents frame (``exponents_table``). runs: the runs table.
    intro: a plain-text paragraph under the title. generated_at: printed under the title
    (default: now, UTC; pass a fixed value for reproducible files).
    """
    if mode not in ("interactive", "static"):
        raise InputError(f"mode={mode!r} is not 'interactive' or 'static'", "pick one of the two")
    items = _sections(sections)
    if generated_at is None:
        generated_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    elif isinstance(generated_at, dt.datetime):
        generated_at = generated_at.strftime("%Y-%m-%d %H:%M")
    # the page's blocks in order, each (anchor, heading HTML, body lines): the contents list
    # links them all
    blocks: list[tuple[str, str, list[str]]] = []
    if exponents is not None:
        blocks.append(
            ("exponents", "Fitted exponents", [EXPONENTS_CAPTION, exponents_html(exponents)])
        )
    specs: list[str] = []
    for i, s in enumerate(items):
        div, spec = _chart_html(i, s, mode)
        specs += [spec] if spec else []
        caption = [f'<p class="caption">{escape(s.caption)}</p>'] if s.caption else []
        blocks.append((f"section-{i}", escape(s.title), [div, *caption]))
    if runs is not None:
        blocks.append(("runs", "Run records", [runs_html(runs)]))
    toc = "".join(f'<li><a href="#{anchor}">{heading}</a></li>' for anchor, heading, _ in blocks)
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">generated {escape(generated_at)} · {len(items)} charts · all '
        "information quantities in nats · error bars and bands: 95 % (±1.96·stderr) unless a "
        "chart says otherwise</p>",
        *([f"<p>{escape(intro)}</p>"] if intro else []),
        f"<nav><ol>{toc}</ol></nav>",
        '<pre id="l2m-errors" hidden></pre>',
    ]
    for anchor, heading, body in blocks:
        parts += [f'<section id="{anchor}"><h2>{heading}</h2>', *body, "</section>"]
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" '
        f'content="{CSP if mode == "interactive" else CSP_STATIC}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="l2m_analysis.charts ({mode})">',
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style>",
    ]
    if mode == "interactive":
        head.append(f"<script>{ERROR_COLLECTOR}</script>")
        head.append(f"<script>{javascript_bundle(vegalite_version())}</script>")
    body_attr = "" if mode == "interactive" else ' data-l2m-done="true"'
    tail = [*specs, f"<script>{EMBED}</script>"] if mode == "interactive" else []
    return "\n".join([*head, f"</head><body{body_attr}>", *parts, *tail, "</body></html>"])


def write_report_html(
    path: str | Path, sections: Sequence[ReportSection | tuple], **kwargs
) -> Path:
    """Write ``build_report_html(sections, **kwargs)`` to ``path`` (UTF-8); returns the path."""
    path = Path(path)
    path.write_text(build_report_html(sections, **kwargs), encoding="utf-8")
    return path
