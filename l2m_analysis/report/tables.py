"""The report's tables as escaped HTML: any frame of display strings, every fitted exponent
split by quantity (warnings as short tags, the full text on hover), and the run records."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from l2m_analysis.fits import describe
from l2m_analysis.report.page import escape

NUMERIC = {"L/ℓ", "R²", "points", "L", "seed"}
WRAP = {"source", "series", "warnings", "dataset", "config"}
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
QUANTITIES = {
    "bipartite": "Bipartite MI, I = A·L^β (and the log-law alternative)",
    "two_point": "Two-point MI, I = A·d^−α + C (Eq. A.18)",
}


def html_table(frame: pl.DataFrame, css: str = "", raw: tuple[str, ...] = ()) -> str:
    """``frame`` as a scrollable table; cells escaped except the columns ``raw`` (HTML)."""
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows(named=True):
        cells = []
        for c, v in row.items():
            cls = ' class="num"' if c in NUMERIC else ' class="wrap"' if c in WRAP else ""
            cells.append(f"<td{cls}>{v if c in raw else escape(v)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table class="{css}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _tags(row: dict) -> str:
    return "".join(
        f'<span class="tag" title="{escape(text)}">{escape(tag)}</span>'
        for tag, text in describe.tags(row)
    )


def fits_tables(exponents: pl.DataFrame) -> str:
    """The output of queries/fitted_exponents.sql as one table per quantity: series, exponent
    with its 95 % interval, warning tags, the law AIC prefers, R², points and fitted range."""
    parts = []
    for quantity, heading in QUANTITIES.items():
        rows = exponents.filter(quantity=quantity).sort("source", "run_id", "estimator", "ratio")
        if rows.is_empty():
            continue
        x = "L" if quantity == "bipartite" else "d"
        table = pl.DataFrame(
            [
                {
                    "run": r["run_id"],
                    "source": r["source"],
                    "estimator": r["estimator"],
                    "L/ℓ": "" if r["ratio"] is None else str(r["ratio"]),
                    "exponent (95 %)": describe.exponent(r),
                    "warnings": _tags(r),
                    "verdict": describe.verdict(r),
                    "R²": describe.fmt(r["r2"], ".4f", ""),
                    "points": str(r["n_points"]),
                    "fitted range": f"{x} = {r['x_min']:,.0f}–{r['x_max']:,.0f}",
                }
                for r in rows.iter_rows(named=True)
            ]
        )
        parts += [f"<h3>{escape(heading)}</h3>", html_table(table, "fits", raw=("warnings",))]
    return "".join(parts)


def _run_cell(column: str, value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if column in ("git_commit", "tokenizer") and value and len(str(value)) > 40:
        return f'<span title="{escape(value)}">{escape(str(value)[:36])}…</span>'
    return escape(value)


def runs_table(runs: pl.DataFrame) -> str:
    """The run records by run_id, the config JSON in a collapsible block, long hashes cut
    (the full value on hover)."""
    if runs.is_empty():
        return ""
    cols = [c for c in RUN_COLUMNS if c in runs.columns]
    rows = []
    for r in runs.sort("run_id").iter_rows(named=True):
        config = json.dumps(json.loads(r["config"] or "{}"), indent=2)
        rows.append(
            {
                **{c: _run_cell(c, r[c]) for c in cols},
                "config": "<details><summary>"
                f"config</summary><pre>{escape(config)}</pre></details>",
            }
        )
    return html_table(pl.DataFrame(rows), "runs", raw=(*cols, "config"))
