"""What every chart builder shares: input checks, NaN-free columns, error bars, named layers,
subtitles, tooltips and log axes.

Builders are pure: Polars frames in (each the output of its named query or table), an Altair
chart out. Every problem with the input is an ``InputError`` naming the builder, the argument,
what is wrong and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import altair as alt
import polars as pl

from l2m_analysis.errors import InputError

Z95 = 1.959963984540054  # two-sided 95 % normal quantile: error bars are value ± Z95·stderr
ERRORBAR_NOTE = "error bars: ±1.96·stderr (95 %)"
# Log-axis labels: plain numbers from 0.001 to 999, SI prefixes above ("4k"), "1e-7" outside.
LOG_LABELS = (
    "datum.value >= 1000 && datum.value < 1e15 ? format(datum.value, '~s') : "
    "(datum.value >= 0.001 && datum.value < 1000 ? format(datum.value, '~g') : "
    "format(datum.value, '.0e'))"
)


def require(frame: object, builder: str, arg: str, columns: Iterable[str], fix: str):
    """``frame`` checked to be a Polars DataFrame with ``columns`` and at least one row."""
    if not isinstance(frame, pl.DataFrame):
        problem = f"`{arg}` is a {type(frame).__name__}, not a Polars DataFrame"
    elif missing := [c for c in columns if c not in frame.columns]:
        problem = f"`{arg}` lacks columns {missing} (it has {frame.columns})"
    elif frame.height == 0:
        problem = f"`{arg}` has no rows"
    else:
        return frame
    raise InputError(f"{builder}: {problem}", fix)


def values_of(frame: pl.DataFrame, column: str) -> str:
    """The distinct non-null values of a column, for error messages."""
    vals = frame[column].drop_nulls().unique().sort().to_list()
    return ", ".join(map(str, vals[:20])) + (" …" if len(vals) > 20 else "") or "(none)"


def pick(frame: pl.DataFrame, builder: str, arg: str, **values: object) -> pl.DataFrame:
    """Rows with ``column == value`` (``is_in`` for a list) for each keyword; None: no filter.
    A filter that leaves nothing names the values present."""
    for column, value in ((c, v) for c, v in values.items() if v is not None):
        many = isinstance(value, list | tuple)
        kept = frame.filter(pl.col(column).is_in(value) if many else pl.col(column) == value)
        if kept.height == 0:
            raise InputError(
                f"{builder}: no rows of `{arg}` match {column}={value!r}",
                f"choose among the values present: {values_of(frame, column)}",
            )
        frame = kept
    return frame


def one_run(frame: pl.DataFrame, builder: str, arg: str) -> pl.DataFrame:
    """``frame`` when it holds one run_id; several runs are an InputError listing them."""
    if (n := frame["run_id"].n_unique()) > 1:
        raise InputError(
            f"{builder}: `{arg}` holds {n} runs; one chart shows one",
            f"filter it to one run_id: {values_of(frame, 'run_id')}",
        )
    return frame


def finite(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``columns`` (those present) as Float64 with NaN and ±inf turned into null: JSON has no
    NaN, and a NaN in chart data makes the spec unreadable in a browser."""
    cols = [pl.col(c).cast(pl.Float64) for c in columns if c in frame.columns]
    return frame.with_columns(pl.when(c.is_finite()).then(c).otherwise(None) for c in cols)


def z95(value: str, stderr: str, lo: str = "y_lo", hi: str = "y_hi") -> list[pl.Expr]:
    """``lo``/``hi`` = value ∓ Z95·stderr: the 95 % error bar, in the value's unit."""
    half = Z95 * pl.col(stderr)
    return [(pl.col(value) - half).alias(lo), (pl.col(value) + half).alias(hi)]


def layer(frame: pl.DataFrame, name: str, mark: str, style: dict | None = None, **encoding):
    """A layer named ``name`` (tests and notebooks find it in the spec) drawing ``frame`` with
    ``mark`` (Vega-Lite mark type and ``style`` properties) and ``encoding``; None when the
    frame is empty. Above 5 000 rows (Altair's limit for frames) the rows are inlined."""
    if frame.height == 0:
        return None
    data = frame if frame.height <= 5000 else alt.InlineData(values=frame.to_dicts())
    chart = getattr(alt.Chart(data), f"mark_{mark}")(**(style or {}))
    return chart.encode(**encoding).properties(name=name)


def subtitle(lines: Iterable[str | None]) -> list[str]:
    """The non-empty lines, each wrapped at ~110 characters on '; '."""
    out: list[str] = []
    for line in filter(None, lines):
        current = ""
        for part in line.split("; "):
            if current and len(current) + len(part) > 108:
                out.append(current)
                current = part
            else:
                current = f"{current}; {part}" if current else part
        out.append(current)
    return out


def titled(chart, text: str, lines: Iterable[str | None] = ()):
    """``chart`` under the title ``text`` with the subtitle ``lines``."""
    sub = subtitle(lines)
    return chart.properties(title=alt.TitleParams(text, subtitle=sub or alt.Undefined))


def tooltips(frame: pl.DataFrame, fields: dict[str, str]) -> list[alt.Tooltip]:
    """A tooltip line per ``column: title`` present in ``frame`` (text, counts or numbers)."""
    out = []
    for column, title in ((c, t) for c, t in fields.items() if c in frame.columns):
        dtype = frame.schema[column]
        if dtype == pl.String:
            out.append(alt.Tooltip(f"{column}:N", title=title))
        else:
            fmt = ",d" if dtype.is_integer() else ".4~g"
            out.append(alt.Tooltip(f"{column}:Q", title=title, format=fmt))
    return out


def domain(values: Iterable[object], log: bool, pad: float = 0.05) -> list[float] | None:
    """[lo, hi] of the finite values (> 0 on a log axis) widened by ``pad`` of the span: Vega's
    "nice" log domains round out to whole decades and leave most of a plot empty."""
    vals = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    vals = [v for v in vals if v > 0] if log else vals
    if not vals:
        return None
    lo, hi = min(vals), max(vals)
    if log:
        span = pad * max(math.log(hi / lo), math.log(1.5))
        return [lo * math.exp(-span), hi * math.exp(span)]
    span = pad * ((hi - lo) or max(abs(hi), 1.0))
    return [lo - span, hi + span]


def log_ticks(dom: list[float] | None) -> list[float] | None:
    """Ticks over a log domain: decades (every other one beyond 9), or 1-2-5 / 1…9 steps when
    it spans few decades (Vega's own log ticks crowd the labels)."""
    if not dom:
        return None
    decades = math.log10(dom[1] / dom[0])
    mantissas = (1,) if decades > 3.5 else (1, 2, 5) if decades > 1.2 else range(1, 10)
    powers = range(math.floor(math.log10(dom[0])), math.ceil(math.log10(dom[1])) + 1)
    ticks = [m * 10.0**k for k in powers if decades <= 9 or k % 2 == 0 for m in mantissas]
    ticks = [float(f"{v:.6g}") for v in ticks if dom[0] <= v <= dom[1]]
    return ticks if len(ticks) >= 2 else None


def axis(
    channel, field: str, title: str, values: Iterable, *, log: bool = True, pad: float = 0.05,
    ticks: list[float] | None = None,
):  # fmt: skip
    """``alt.X``/``alt.Y`` on ``field`` over the padded domain of ``values``: log scale with
    ``log_ticks`` (or the given ``ticks``) and ``LOG_LABELS``, or linear without zero."""
    dom = domain(values, log, pad)
    fixed = {} if dom is None else {"domain": dom, "nice": False}
    if not log:
        return channel(field, title=title, scale=alt.Scale(zero=False, **fixed))
    ticks = ticks or log_ticks(dom)
    labels = alt.Axis(labelExpr=LOG_LABELS, **({"values": ticks} if ticks else {}))
    return channel(field, title=title, scale=alt.Scale(type="log", **fixed), axis=labels)
