"""What every chart builder shares: input checks, NaN-free rows, log-axis guards, subtitles.

Builders are pure: Polars frames in, an Altair chart out. Every problem with the input is an
``InputError`` that names the builder, the argument, what is wrong and the fix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence

import polars as pl

from l2m_analysis.errors import InputError

Z95 = 1.959963984540054  # two-sided 95 % normal quantile: error bars are value ± Z95·stderr
ERRORBAR_NOTE = "error bars: ±1.96·stderr (95 %)"


def require_frame(
    frame: object,
    *,
    builder: str,
    arg: str,
    required: Iterable[str],
    fix: str,
) -> pl.DataFrame:
    """Return ``frame`` as a Polars DataFrame holding ``required`` columns and ≥ 1 row.

    A pandas DataFrame is converted; anything else, a missing column or an empty frame raises
    ``InputError`` naming ``builder``/``arg`` and the ``fix``.
    """
    if not isinstance(frame, pl.DataFrame):
        try:
            import pandas as pd  # optional: notebooks often hold pandas frames from DuckDB
        except ImportError:  # pragma: no cover - pandas ships with the toolkit's deps
            pd = None
        if pd is not None and isinstance(frame, pd.DataFrame):
            frame = pl.from_pandas(frame)
        else:
            raise InputError(
                f"{builder}: `{arg}` is a {type(frame).__name__}, not a Polars DataFrame",
                f"pass a polars.DataFrame ({fix})",
            )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{builder}: `{arg}` lacks columns {missing} (it has {frame.columns})",
            fix,
        )
    if frame.height == 0:
        raise InputError(f"{builder}: `{arg}` has no rows", fix)
    return frame


def no_rows_left(builder: str, arg: str, what: str, available: str) -> InputError:
    """The error for a filter that left nothing to draw."""
    return InputError(
        f"{builder}: no rows of `{arg}` match {what}",
        f"choose among the values present: {available}",
    )


def values_of(frame: pl.DataFrame, column: str) -> str:
    """The distinct non-null values of a column, for error messages."""
    if column not in frame.columns:
        return f"(no column {column!r})"
    vals = frame[column].drop_nulls().unique().sort().to_list()
    return ", ".join(str(v) for v in vals[:20]) + (" …" if len(vals) > 20 else "") or "(none)"


def filter_equal(
    frame: pl.DataFrame, column: str, value: object, *, builder: str, arg: str
) -> pl.DataFrame:
    """Rows with ``column == value`` (or ``column in value`` for a list); value None: all rows."""
    if value is None:
        return frame
    if column not in frame.columns:
        raise InputError(
            f"{builder}: cannot select {column}={value!r}: `{arg}` has no column {column!r}",
            f"drop the {column}= argument or pass a frame with that column",
        )
    if isinstance(value, (list, tuple, set, frozenset)):
        out = frame.filter(pl.col(column).is_in(list(value)))
    else:
        out = frame.filter(pl.col(column) == value)
    if out.height == 0:
        raise no_rows_left(builder, arg, f"{column}={value!r}", values_of(frame, column))
    return out


def filter_by(frame: pl.DataFrame, *, builder: str, arg: str, **values: object) -> pl.DataFrame:
    """``filter_equal`` for each ``column=value`` in the order given (a None value: no filter)."""
    for column, value in values.items():
        frame = filter_equal(frame, column, value, builder=builder, arg=arg)
    return frame


def finite_floats(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Cast ``columns`` (those present) to Float64 with NaN and ±inf turned into null.

    JSON has no NaN: a NaN left in chart data makes the spec unparseable in a browser.
    """
    exprs = []
    for c in columns:
        if c in frame.columns:
            col = pl.col(c).cast(pl.Float64)
            exprs.append(pl.when(col.is_finite()).then(col).otherwise(None).alias(c))
    return frame.with_columns(exprs) if exprs else frame


def z95_bounds(value: str, stderr: str, lo: str = "y_lo", hi: str = "y_hi") -> list[pl.Expr]:
    """Columns ``lo`` = value − Z95·stderr and ``hi`` = value + Z95·stderr: the 95 % error bar
    (or band), in the value's unit (nats, nats per token); null where stderr is null."""
    return [
        (pl.col(value) - Z95 * pl.col(stderr)).alias(lo),
        (pl.col(value) + Z95 * pl.col(stderr)).alias(hi),
    ]


def keep_positive(frame: pl.DataFrame, columns: Sequence[str]) -> tuple[pl.DataFrame, int]:
    """Rows whose ``columns`` are all > 0 (log axes), and how many rows were dropped."""
    cond = pl.lit(True)
    for c in columns:
        cond = cond & pl.col(c).is_not_null() & (pl.col(c) > 0)
    kept = frame.filter(cond)
    return kept, frame.height - kept.height


def dropped_note(n: int, what: str, why: str = "not shown on the log axis") -> str | None:
    """'3 points with I ≤ 0 not shown on the log axis' or None when n == 0."""
    if n <= 0:
        return None
    return f"{n} {'point' if n == 1 else 'points'} with {what} {why}"


def subtitle(lines: Iterable[str | None]) -> list[str]:
    """The non-empty lines of a subtitle, each at most ~110 characters (wrapped on '; ')."""
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        parts, current = str(line).split("; "), ""
        for part in parts:
            candidate = part if not current else f"{current}; {part}"
            if len(candidate) > 110 and current:
                out.append(current)
                current = part
            else:
                current = candidate
        out.append(current)
    return out


def parse_detail(value: object) -> dict:
    """The ``fits.detail`` JSON as a dict (it arrives as a str, a dict or null)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            out = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return out if isinstance(out, dict) else {}
    return {}


def fit_warnings(row: dict) -> list[str]:
    """Warnings of one fits row: its ``warnings`` list, and dropped points with the reason.

    Accepts the coming ``fits`` columns ``warnings`` (list of strings), ``n_dropped`` (int) and
    ``drop_reason`` (str); a row without them has no warnings.
    """
    out: list[str] = []
    warnings = row.get("warnings")
    if isinstance(warnings, str):
        warnings = [warnings]
    if warnings is not None:
        out.extend(str(w) for w in warnings if w is not None and str(w).strip())
    n_dropped = row.get("n_dropped")
    if n_dropped is not None and not (isinstance(n_dropped, float) and math.isnan(n_dropped)):
        if int(n_dropped) > 0:
            reason = row.get("drop_reason")
            out.append(
                f"{int(n_dropped)} point{'s' if int(n_dropped) != 1 else ''} dropped"
                + (f" ({reason})" if reason else "")
            )
    return out


def fmt(value: object, spec: str = ".3g", missing: str = "–") -> str:
    """Format a number; None/NaN -> ``missing``."""
    if value is None:
        return missing
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return missing
    return format(v, spec)


def interval(lo: object, hi: object, spec: str = ".3f") -> str:
    """'[0.794, 0.815]'; an open (NULL or infinite) end prints as −∞ / ∞."""
    return f"[{fmt(lo, spec, '−∞')}, {fmt(hi, spec, '∞')}]"


def exponent_text(symbol: str, value: object, lo: object, hi: object, spec: str = ".3f") -> str:
    """'β = 0.805 [0.794, 0.815]'."""
    return f"{symbol} = {fmt(value, spec)} {interval(lo, hi, spec)}"


def varying(frame: pl.DataFrame, columns: Sequence[str]) -> list[str]:
    """The columns among ``columns`` that hold more than one distinct value."""
    return [c for c in columns if c in frame.columns and frame[c].n_unique() > 1]


def title_params(text: str, lines: Sequence[str] = (), **kwargs):
    """``alt.TitleParams`` with the subtitle ``lines`` (none: no subtitle)."""
    import altair as alt

    return alt.TitleParams(text, subtitle=list(lines) if lines else alt.Undefined, **kwargs)


def chart_data(frame: pl.DataFrame):
    """What to hand ``alt.Chart``: the frame itself (Altair inlines it under ``datasets``), or
    for more than 5 000 rows the rows as ``alt.InlineData`` (Altair's row limit applies to
    frames only; big position-wise charts are still plain inline JSON)."""
    import altair as alt

    if frame.height <= 5000:
        return frame
    return alt.InlineData(values=frame.to_dicts())


def ordered_unique(values: Iterable[object]) -> list:
    """Distinct values in first-seen order."""
    seen: dict = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)
