"""Axes of every chart: log scales with readable ticks and labels, padded explicit domains.

Values are whatever the axis shows (tokens on x, nats or nats per token on y); a log axis
ignores values ≤ 0 (the builders drop and count them before drawing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt

# Log-axis tick labels: plain numbers from 0.001 to 999, SI prefixes above ("4k", "50M"),
# scientific notation outside ("1e-7"), instead of Vega's mix of "0.000001" and "1e-7".
LOG_LABELS = (
    "datum.value >= 1000 && datum.value < 1e15 ? format(datum.value, '~s') : "
    "(datum.value >= 0.001 && datum.value < 1000 ? format(datum.value, '~g') : "
    "format(datum.value, '.0e'))"
)


def axis_scale(log: bool, domain: list[float] | None = None) -> alt.Scale:
    """A log scale, or a linear one without zero; ``domain`` (if given) fixed, not niced."""
    kwargs = {} if domain is None else {"domain": domain, "nice": False}
    return (
        alt.Scale(type="log", **kwargs) if log else alt.Scale(type="linear", zero=False, **kwargs)
    )


def padded_domain(values: Sequence[float], log: bool, pad: float = 0.05) -> list[float] | None:
    """[lo, hi] of the finite values (> 0 on a log axis), widened by ``pad`` of the span.

    Vega's "nice" log domains round out to whole decades and can leave most of the plot empty;
    an explicit domain keeps the data filling the frame.
    """
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if log:
        vals = [v for v in vals if v > 0]
    if not vals:
        return None
    lo, hi = min(vals), max(vals)
    if log:
        span = max(math.log(hi / lo), math.log(1.5))
        return [lo * math.exp(-pad * span), hi * math.exp(pad * span)]
    span = (hi - lo) or max(abs(hi), 1.0)
    return [lo - pad * span, hi + pad * span]


def log_ticks(domain: list[float] | None) -> list[float] | None:
    """Tick values for a log axis over ``domain``: whole decades, or 1-2-5 / 1..9 steps inside
    them when the domain spans fewer decades (Vega's own log ticks crowd the labels)."""
    if not domain or domain[0] <= 0:
        return None
    lo, hi = domain
    decades = math.log10(hi / lo)
    if decades > 9:
        mantissas, step = (1,), 2
    elif decades > 3.5:
        mantissas, step = (1,), 1
    elif decades > 1.2:
        mantissas, step = (1, 2, 5), 1
    else:
        mantissas, step = (1, 2, 3, 4, 5, 6, 7, 8, 9), 1
    ticks = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        if step > 1 and k % step:
            continue
        for m in mantissas:
            v = float(f"{m}e{k}")
            if lo <= v <= hi:
                ticks.append(v)
    return ticks if len(ticks) >= 2 else None


def log_axis(domain: list[float] | None, **kwargs) -> alt.Axis:
    """A log axis with ``log_ticks`` and ``LOG_LABELS``."""
    ticks = log_ticks(domain)
    extra = {"values": ticks} if ticks else {}
    return alt.Axis(labelExpr=LOG_LABELS, **extra, **kwargs)


def axis_channel(
    channel: type[alt.X] | type[alt.Y],
    field: str,
    title: str,
    *,
    log: bool,
    domain: list[float] | None,
    fmt: str = "~g",
) -> alt.X | alt.Y:
    """``alt.X``/``alt.Y`` on ``field`` over ``domain``: a ``log_axis`` when ``log``, else a
    linear axis with labels in ``fmt``."""
    return channel(
        field,
        title=title,
        scale=axis_scale(log, domain),
        axis=log_axis(domain) if log else alt.Axis(format=fmt),
    )
