"""The report's two tables: the fitted exponents (``exponents_table``, also a frame of display
strings for notebooks) and the run records, as escaped HTML.

Exponents are β of the bipartite power law I = A·L^β and α of the two-point decay
I = A·d^(−α) + C (C in nats), each with its 95 % interval; run configs are shown as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence

import polars as pl

from l2m_analysis.charts._common import fit_warnings, fmt, interval, parse_detail, require_frame
from l2m_analysis.charts._report_assets import escape

EXPONENTS_REQUIRED = ("quantity", "estimator", "exponent", "exponent_lo", "exponent_hi")
EXPONENTS_FIX = (
    "pass the output of queries/fitted_exponents.sql, or rows of the fits table "
    "(columns quantity, estimator, exponent, exponent_lo, exponent_hi[, ...])"
)
EXPONENTS_CAPTION = (
    '<p class="caption">β: bipartite MI I = A·L^β; verdict: the law AIC prefers on the '
    "log I scale, power law I = A·L^β or log law I = a·log L + b, with "
    "ΔAIC = AIC(log law) − AIC(power law) (&gt; 0 favours the power law). α: two-point "
    "decay I = A·d^−α + C (Eq. A.18), C the estimator's bias floor. Intervals are "
    "95 %; warnings flag open intervals, intervals that include 0, fits on fewer than "
    "4 points and what the fit itself reported.</p>"
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
NUMERIC_DISPLAY = {"exponent", "95 % CI", "R²", "points", "L/ℓ", "seed"}
NOWRAP = {"fitted range", "verdict", "estimator"}


def _exponent_name(row: dict) -> str:
    """'alpha' (two-point decay) or 'beta' (bipartite), or the row's own ``exponent_name``."""
    return row.get("exponent_name") or ("alpha" if row.get("law") == "decay" else "beta")


def _verdict(row: dict) -> str:
    law = row.get("preferred_law")
    name = _exponent_name(row)
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
        name = _exponent_name(r)
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


def _table(css_class: str, columns: Sequence[str], rows: Sequence[str]) -> str:
    """A scrollable table: escaped column headers, then the rows (each '<tr>…</tr>')."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    return (
        f'<div class="scroll"><table class="{css_class}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def exponents_html(exponents: pl.DataFrame) -> str:
    """``exponents_table(exponents)`` as HTML: numbers right-aligned, warnings in red."""
    table = exponents_table(exponents)
    body = []
    for row in table.iter_rows(named=True):
        cells = []
        for c in table.columns:
            v = row[c]
            cls = []
            if c in NUMERIC_DISPLAY:
                cls.append("num")
            elif c in NOWRAP:
                cls.append("nowrap")
            if c == "warnings" and v:
                cls.append("warn")
            attr = f' class="{" ".join(cls)}"' if cls else ""
            cells.append(f"<td{attr}>{escape(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return _table("exponents", table.columns, body)


def _run_cell(column: str, value: object) -> str:
    if isinstance(value, dt.datetime):
        value = value.strftime("%Y-%m-%d %H:%M:%S")
    if column == "git_commit" and value:
        return f'<td title="{escape(value)}"><code>{escape(str(value)[:10])}</code></td>'
    if column == "tokenizer" and value and re.search(r"sha256:[0-9a-f]{16,}", str(value)):
        short = re.sub(r"(sha256:[0-9a-f]{12})[0-9a-f]+", r"\1…", str(value))
        return f'<td title="{escape(value)}">{escape(short)}</td>'
    if column == "run_id":
        return f'<td class="nowrap">{escape(value)}</td>'
    return f"<td{' class=num' if column == 'seed' else ''}>{escape(value)}</td>"


def _config_cell(config: object) -> str:
    try:
        text = json.dumps(
            json.loads(config) if isinstance(config, str) else config, indent=2, default=str
        )
    except (TypeError, ValueError):
        text = str(config)
    return f"<td><details><summary>config</summary><pre>{escape(text)}</pre></details></td>"


def runs_html(runs: pl.DataFrame) -> str:
    """The run records (rows of the ``runs`` table) as HTML, by run_id; the config JSON in a
    collapsible block, long hashes shortened (the full value in the cell's title)."""
    runs = require_frame(runs, builder="build_report_html", arg="runs", required=("run_id",),
                         fix=RUNS_FIX)  # fmt: skip
    cols = [c for c in RUN_COLUMNS if c in runs.columns]
    has_config = "config" in runs.columns
    body = []
    for r in runs.sort("run_id").iter_rows(named=True):
        cells = [_run_cell(c, r[c]) for c in cols]
        if has_config:
            cells.append(_config_cell(r["config"]))
        body.append("<tr>" + "".join(cells) + "</tr>")
    return _table("runs", [*cols, *(["config"] if has_config else [])], body)
