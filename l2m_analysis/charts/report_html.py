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
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import altair as alt
import polars as pl
import vl_convert as vlc

from l2m_analysis.charts._common import fit_warnings, fmt, interval, parse_detail, require_frame
from l2m_analysis.charts.render import chart_spec, to_svg, vegalite_version
from l2m_analysis.errors import InputError

Mode = Literal["interactive", "static"]

EXPONENTS_REQUIRED = ("quantity", "estimator", "exponent", "exponent_lo", "exponent_hi")
EXPONENTS_FIX = (
    "pass the output of queries/fitted_exponents.sql, or rows of the fits table "
    "(columns quantity, estimator, exponent, exponent_lo, exponent_hi[, ...])"
)
RUNS_FIX = "pass rows of the runs table (columns run_id[, kind, model, dataset, config, ...])"
RUN_COLUMNS = (
    "run_id",
    "kind",
    "status",
    "model",
    "dataset",
    "tokenizer",
    "seed",
    "created_at",
    "package_version",
    "git_commit",
)

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)
CSP_STATIC = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"

CSS = """
body { font-family: "DejaVu Sans", "Liberation Sans", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 1280px; padding: 0 1.5em; color: #222; }
h1 { font-size: 1.7em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
p.meta { color: #666; margin-top: 0; }
nav ol { columns: 2; color: #444; }
table { border-collapse: collapse; font-size: .85em; margin: .8em 0; }
th, td { border: 1px solid #ddd; padding: .3em .55em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
div.scroll { overflow-x: auto; }
td.warn { color: #a33; }
.l2m-chart { margin: .6em 0; overflow-x: auto; }
.l2m-chart svg { max-width: 100%; height: auto; }
p.caption { color: #444; max-width: 60em; }
details pre { white-space: pre-wrap; font-size: .9em; max-width: 60em; }
#l2m-errors { color: #a00; background: #fee; padding: .5em; }
""".strip()

# Runs first in <head>, before the bundle: records errors and console errors/warnings into the
# page (as well as the console), so a headless browser's DOM dump shows them.
ERROR_COLLECTOR = """
(function () {
  function report(msg) {
    var log = document.getElementById("l2m-errors");
    if (log) { log.textContent += msg + "\\n"; log.hidden = false; }
    else { (window.__l2mEarlyErrors = window.__l2mEarlyErrors || []).push(msg); }
  }
  window.__l2mReport = report;
  window.addEventListener("error", function (e) { report("error: " + e.message); });
  document.addEventListener("securitypolicyviolation", function (e) {
    report("blocked by the page's security policy: " + e.blockedURI);
  });
  window.addEventListener("unhandledrejection", function (e) {
    report("unhandled rejection: " + e.reason);
  });
  ["error", "warn"].forEach(function (level) {
    var orig = console[level];
    console[level] = function () {
      report("console." + level + ": " + Array.prototype.join.call(arguments, " "));
      return orig.apply(console, arguments);
    };
  });
})();
""".strip()

EMBED = """
(function () {
  (window.__l2mEarlyErrors || []).forEach(function (m) { window.__l2mReport(m); });
  var charts = Array.prototype.slice.call(document.querySelectorAll(".l2m-chart[data-spec]"));
  var pending = charts.length;
  function done() {
    pending -= 1;
    if (pending <= 0) { document.body.setAttribute("data-l2m-done", "true"); }
  }
  if (pending === 0) { document.body.setAttribute("data-l2m-done", "true"); }
  if (typeof vegaEmbed !== "function") {
    window.__l2mReport("error: the inlined Vega-Embed library did not load");
    charts.forEach(function (el) { el.setAttribute("data-rendered", "failed"); });
    document.body.setAttribute("data-l2m-done", "true");
    return;
  }
  charts.forEach(function (el) {
    var spec;
    try { spec = JSON.parse(document.getElementById(el.getAttribute("data-spec")).textContent); }
    catch (err) {
      el.setAttribute("data-rendered", "failed");
      window.__l2mReport("chart " + el.id + ": bad spec: " + err);
      done();
      return;
    }
    vegaEmbed(el, spec, { renderer: "svg", actions: false })
      .then(function () { el.setAttribute("data-rendered", "true"); })
      .catch(function (err) {
        el.setAttribute("data-rendered", "failed");
        window.__l2mReport("chart " + el.id + ": " + err);
      })
      .then(done);
  });
})();
""".strip()


@dataclass(frozen=True)
class ReportSection:
    """One chart of the report: a heading, the chart and an optional caption (plain text)."""

    title: str
    chart: alt.TopLevelMixin
    caption: str | None = None


@lru_cache(maxsize=2)
def _javascript_bundle(vl_version: str | None) -> str:
    """vl-convert's bundle of Vega-Embed, Vega-Lite and Vega (computed once per process)."""
    bundle = vlc.javascript_bundle(vl_version=vl_version)
    # a literal "</script" inside the code would end the element early
    return bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def _json_for_script(spec: dict) -> str:
    """JSON that cannot break out of a <script> element (and stays valid JSON)."""
    text = json.dumps(spec, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _verdict(row: dict) -> str:
    law = row.get("preferred_law")
    name = row.get("exponent_name") or ("alpha" if row.get("law") == "decay" else "beta")
    if row.get("quantity") == "two_point" or name == "alpha" or law == "decay":
        c = row.get("offset_c")
        return "decay A·d^−α + C" + (f", C = {fmt(c, '.3g')}" if c is not None else "")
    delta = row.get("delta_aic")
    if delta is None:
        delta = parse_detail(row.get("detail")).get("delta_aic")
    if not law:
        return ""
    text = {"power": "power law", "log": "log law"}.get(law, str(law))
    return text + (f" (ΔAIC {float(delta):+.1f})" if delta is not None else "")


def _cautions(row: dict) -> list[str]:
    out = fit_warnings(row)
    lo, hi = row.get("exponent_lo"), row.get("exponent_hi")
    if lo is None or hi is None:
        out.append("open interval")
    elif float(lo) <= 0 <= float(hi):
        out.append("interval includes 0")
    n = row.get("n_points")
    if n is not None and int(n) < 4:
        out.append(f"only {int(n)} points")
    return out


def exponents_table(frame: pl.DataFrame) -> pl.DataFrame:
    """The fitted-exponents table as display strings, one row per series.

    Input: queries/fitted_exponents.sql output, or fits rows (only 'power' and 'decay' rows
    are kept). Columns out: source, quantity, estimator, L/ℓ, exponent, 95 % CI, R², points,
    fitted range, verdict, warnings, run. Warnings: the fit's ``warnings``/``n_dropped``/
    ``drop_reason`` when present, plus an open interval, an interval that includes 0, and
    fewer than 4 points.
    """
    frame = require_frame(
        frame,
        builder="exponents_table",
        arg="exponents",
        required=EXPONENTS_REQUIRED,
        fix=EXPONENTS_FIX,
    )
    if "law" in frame.columns:
        frame = frame.filter(pl.col("law").is_in(["power", "decay"]))
    keys = [c for c in ("quantity", "source", "estimator", "ratio") if c in frame.columns]
    frame = frame.sort(keys, nulls_last=True)
    rows = []
    for r in frame.iter_rows(named=True):
        name = r.get("exponent_name") or ("alpha" if r.get("law") == "decay" else "beta")
        symbol = {"alpha": "α", "beta": "β"}.get(name, name)
        rng = ""
        if r.get("x_min") is not None and r.get("x_max") is not None:
            unit = "d" if symbol == "α" else "L"
            rng = f"{unit} = {fmt(r['x_min'], ',.0f')}–{fmt(r['x_max'], ',.0f')}"
        rows.append(
            {
                "source": r.get("source") or "",
                "quantity": r.get("quantity") or "",
                "estimator": r.get("estimator") or "",
                "L/ℓ": "" if r.get("ratio") is None else str(r["ratio"]),
                "exponent": f"{symbol} = {fmt(r['exponent'], '.3f')}",
                "95 % CI": interval(r.get("exponent_lo"), r.get("exponent_hi")),
                "R²": fmt(r.get("r2"), ".4f", ""),
                "points": "" if r.get("n_points") is None else str(r["n_points"]),
                "fitted range": rng,
                "verdict": _verdict(r),
                "warnings": "; ".join(_cautions(r)),
                "run": r.get("run_id") or "",
            }
        )
    return pl.DataFrame(rows)


NUMERIC_DISPLAY = {"exponent", "95 % CI", "R²", "points", "L/ℓ", "seed"}
NOWRAP = {"fitted range", "verdict", "estimator"}


def _table_html(frame: pl.DataFrame, *, css_class: str, warn_column: str | None = None) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows(named=True):
        cells = []
        for c in frame.columns:
            v = row[c]
            cls = []
            if c in NUMERIC_DISPLAY:
                cls.append("num")
            elif c in NOWRAP:
                cls.append("nowrap")
            if c == warn_column and v:
                cls.append("warn")
            attr = f' class="{" ".join(cls)}"' if cls else ""
            cells.append(f"<td{attr}>{_e(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table class="{css_class}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _runs_html(runs: pl.DataFrame) -> str:
    runs = require_frame(runs, builder="build_report_html", arg="runs", required=("run_id",),
                         fix=RUNS_FIX)  # fmt: skip
    cols = [c for c in RUN_COLUMNS if c in runs.columns]
    head = "".join(f"<th>{_e(c)}</th>" for c in cols) + (
        "<th>config</th>" if "config" in runs.columns else ""
    )
    body = []
    for r in runs.sort("run_id").iter_rows(named=True):
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, dt.datetime):
                v = v.strftime("%Y-%m-%d %H:%M:%S")
            if c == "git_commit" and v:
                cells.append(f'<td title="{_e(v)}"><code>{_e(str(v)[:10])}</code></td>')
                continue
            if c == "tokenizer" and v and re.search(r"sha256:[0-9a-f]{16,}", str(v)):
                short = re.sub(r"(sha256:[0-9a-f]{12})[0-9a-f]+", r"\1…", str(v))
                cells.append(f'<td title="{_e(v)}">{_e(short)}</td>')
                continue
            if c == "run_id":
                cells.append(f'<td class="nowrap">{_e(v)}</td>')
                continue
            cells.append(f"<td{' class=num' if c == 'seed' else ''}>{_e(v)}</td>")
        if "config" in runs.columns:
            cfg = r["config"]
            try:
                cfg_text = json.dumps(
                    json.loads(cfg) if isinstance(cfg, str) else cfg, indent=2, default=str
                )
            except (TypeError, ValueError):
                cfg_text = str(cfg)
            cells.append(
                f"<td><details><summary>config</summary><pre>{_e(cfg_text)}</pre></details></td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table class="runs"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


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
    parts: list[str] = []
    toc = []
    if exponents is not None:
        toc.append('<li><a href="#exponents">Fitted exponents</a></li>')
    toc += [f'<li><a href="#section-{i}">{_e(s.title)}</a></li>' for i, s in enumerate(items)]
    if runs is not None:
        toc.append('<li><a href="#runs">Run records</a></li>')
    parts.append(f"<h1>{_e(title)}</h1>")
    parts.append(
        f'<p class="meta">generated {_e(generated_at)} · {len(items)} charts · all information '
        "quantities in nats · error bars and bands: 95 % (±1.96·stderr) unless a chart says "
        "otherwise</p>"
    )
    if intro:
        parts.append(f"<p>{_e(intro)}</p>")
    parts.append(f"<nav><ol>{''.join(toc)}</ol></nav>")
    parts.append('<pre id="l2m-errors" hidden></pre>')
    if exponents is not None:
        table = exponents_table(exponents)
        parts.append('<section id="exponents"><h2>Fitted exponents</h2>')
        parts.append(
            '<p class="caption">β: bipartite MI I = A·L^β; verdict: the law AIC prefers on the '
            "log I scale, power law I = A·L^β or log law I = a·log L + b, with "
            "ΔAIC = AIC(log law) − AIC(power law) (&gt; 0 favours the power law). α: two-point "
            "decay I = A·d^−α + C (Eq. A.18), C the estimator's bias floor. Intervals are "
            "95 %; warnings flag open intervals, intervals that include 0, fits on fewer than "
            "4 points and what the fit itself reported.</p>"
        )
        parts.append(_table_html(table, css_class="exponents", warn_column="warnings"))
        parts.append("</section>")
    specs: list[str] = []
    for i, s in enumerate(items):
        parts.append(f'<section id="section-{i}"><h2>{_e(s.title)}</h2>')
        if mode == "interactive":
            spec = chart_spec(s.chart)
            specs.append(
                f'<script type="application/json" id="spec-{i}">{_json_for_script(spec)}</script>'
            )
            parts.append(
                f'<div class="l2m-chart" id="chart-{i}" data-spec="spec-{i}" '
                f'data-rendered="pending" role="img" aria-label="{_e(s.title)}"></div>'
            )
        else:
            parts.append(
                f'<div class="l2m-chart" id="chart-{i}" data-rendered="true">{to_svg(s.chart)}'
                "</div>"
            )
        if s.caption:
            parts.append(f'<p class="caption">{_e(s.caption)}</p>')
        parts.append("</section>")
    if runs is not None:
        parts.append('<section id="runs"><h2>Run records</h2>')
        parts.append(_runs_html(runs))
        parts.append("</section>")
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" '
        f'content="{CSP if mode == "interactive" else CSP_STATIC}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="l2m_analysis.charts ({mode})">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>",
    ]
    if mode == "interactive":
        head.append(f"<script>{ERROR_COLLECTOR}</script>")
        head.append(f"<script>{_javascript_bundle(vegalite_version())}</script>")
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
