"""The offline HTML report of a warehouse: answers first, then one section per paper question.

    with Warehouse.open(path, create=False) as wh:
        frames = read_frames(wh)
    write_report(frames, "reports")          # reports/l2m-report.html, reports/charts/*.png|svg

The page (``build_report``): the title; the headline panel (``headline``: text β per estimator
with q and its caveat, α, the Gaussian check, the L²M verdict per architecture, each with its
95 % interval and a link to its chart); the contents; one section per paper question
(``sections``: Fig. 2, 3, 4/5, L²M), each with its compact table and charts; the run records;
and last every fitted exponent, split by quantity (``tables``). Offline, no CDN (``page``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from l2m_analysis.charts.render import save_chart
from l2m_analysis.errors import InputError
from l2m_analysis.report.frames import ReportFrames, read_frames
from l2m_analysis.report.headline import headline_html
from l2m_analysis.report.page import Figure, Mode, document, escape, figure_html
from l2m_analysis.report.sections import SECTIONS, figures
from l2m_analysis.report.tables import fits_tables, html_table, runs_table

__all__ = ["Report", "ReportFrames", "build_report", "read_frames", "write_report"]
REPORT_NAME = "l2m-report.html"
TITLE = "L²M analysis report"


@dataclass(frozen=True)
class Report:
    """The page's HTML and its figures in page order."""

    html: str
    figures: list[Figure]


def build_report(
    frames: ReportFrames, *, mode: Mode = "interactive", generated_at: str | None = None
) -> Report:
    """The report of ``frames`` (see the module docstring); ``generated_at`` is printed under
    the title (default: now, UTC; pass a fixed value for reproducible files)."""
    if mode not in ("interactive", "static"):
        raise InputError(f"mode={mode!r} is not 'interactive' or 'static'", "pick one of the two")
    generated_at = generated_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    blocks, drawn, scripts, toc = [], [], [], []
    for s in SECTIONS:
        made, table = figures(frames, s.anchor), s.table(frames)
        if not made and table is None:
            continue
        toc.append((s.anchor, s.title))
        blocks += [
            f'<section id="{s.anchor}"><h2>{escape(s.title)}</h2>',
            f'<p class="question">{escape(s.question)}</p>',
            "" if table is None else html_table(table, "compact"),
            '<div class="figures">',
        ]
        for fig in made:
            html, script = figure_html(fig, len(drawn), mode)
            blocks.append(html)
            scripts += [script] if script else []
            drawn.append(fig)
        blocks.append("</div></section>")
    tables = (
        ("runs", "Run records", runs_table(frames.runs)),
        ("fits", "Every fitted exponent", fits_tables(frames.queries["fitted_exponents"])),
    )
    for anchor, title, html in tables:
        if html:
            toc.append((anchor, title))
            blocks.append(f'<section id="{anchor}"><h2>{title}</h2>{html}</section>')
    meta = (
        f"generated {escape(generated_at)} from {escape(frames.warehouse or 'a warehouse')} · "
        f"{len(drawn)} charts · information in nats · intervals and error bars 95 %"
    )
    nav = "".join(f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in toc)
    head = [
        f"<h1>{TITLE}</h1>",
        f'<p class="meta">{meta}</p>',
        headline_html(frames),
        f"<nav><ol>{nav}</ol></nav>",
        '<pre id="l2m-errors" hidden></pre>',
    ]
    return Report(document(TITLE, head + blocks, scripts, mode), drawn)


def write_report(frames: ReportFrames, out: str | Path, *, images: bool = True, **kwargs) -> Path:
    """Write ``build_report(frames, **kwargs)`` to ``out``/l2m-report.html and, with ``images``,
    each chart to ``out``/charts/<anchor>.png and .svg; returns the report's path."""
    report = build_report(frames, **kwargs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if images:
        (out / "charts").mkdir(exist_ok=True)
        for fig in report.figures:
            for suffix in (".png", ".svg"):
                save_chart(fig.chart, out / "charts" / f"{fig.anchor}{suffix}")
    path = out / REPORT_NAME
    path.write_text(report.html, encoding="utf-8")
    return path
