"""The L²M condition chart (Section 5, Theorem 5.4): history-state size vs the MI data require.

Theorem 5.2 bounds what a model can capture by the size of its history state z_{L/2}:
I^{BP,q}_{L/2;L} ≤ C·dim(z_{L/2}) + log M. A model scaling is MI-capable only if
dim(z_{L/2}) grows at least as fast as the data's I^BP_{L/2;L} ∼ L^β (the L²M condition).

Input ``states`` — a frame not yet in the warehouse; its contract:

============  =======  ===================================================================
column        type     meaning
============  =======  ===================================================================
model         str      the model (one curve each), e.g. 'gpt2-124M', 'mamba-130m'
length        int      sequence length L (tokens); the state is z_{L/2}, just before w_{L/2}
state_dim     float    numbers held in z_{L/2} (> 0): for a transformer the KV cache,
                       2·n_layer·d_model·(L/2 − 1); for an SSM its latent state,
                       n_layer·d_inner·d_state (constant in L) — Appx. C
architecture  str      optional: 'transformer', 'ssm', … (line dash)
============  =======  ===================================================================

Input ``required`` (nats): rows of ``mi_estimates`` or ``queries/bipartite_mi.sql`` —
``length``, ``value`` (I_BP at ℓ = L/2) and optionally ``stderr``, ``estimator``, ``ratio``
(rows with ratio ≠ 2 are ignored), ``quantity``. ``fit`` (optional): the power-law row(s) of
the ``fits`` table (``law``, ``amplitude``, ``exponent``, ``x_min``, ``x_max``[, estimator,
ratio]) giving I = A·L^β at lengths that were not measured (marked "fit" or "fit,
extrapolated" beyond [x_min, x_max]).
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import polars as pl

from l2m_analysis.charts._axes import axis_channel, padded_domain
from l2m_analysis.charts._common import (
    filter_equal,
    finite_floats,
    require_frame,
    subtitle,
    title_params,
)
from l2m_analysis.charts.theme import GREY, color_scale
from l2m_analysis.errors import InputError

STATES_REQUIRED = ("model", "length", "state_dim")
STATES_FIX = (
    "pass a frame with columns model, length (tokens), state_dim (numbers in z_{L/2})"
    "[, architecture] (see docs/charts.md)"
)
REQUIRED_FIX = (
    "pass rows of mi_estimates or queries/bipartite_mi.sql (columns length, value[, stderr, "
    "estimator, ratio]) and/or a power-law fit (fits rows with law = 'power')"
)
FIT_REQUIRED = ("amplitude", "exponent", "x_min", "x_max")


def _required_rows(required: object, estimator: str | None, builder: str) -> pl.DataFrame | None:
    if required is None:
        return None
    frame = require_frame(
        required, builder=builder, arg="required", required=("length", "value"), fix=REQUIRED_FIX
    )
    if "quantity" in frame.columns:
        frame = filter_equal(frame, "quantity", "bipartite", builder=builder, arg="required")
    if "ratio" in frame.columns:
        frame = filter_equal(frame, "ratio", 2, builder=builder, arg="required")
    if "estimator" in frame.columns:
        if estimator is None:
            present = frame["estimator"].unique().to_list()
            estimator = next(
                (e for e in ("direct", "exact", "direct_uncorrected", "vclub") if e in present),
                sorted(present)[0],
            )
        frame = filter_equal(frame, "estimator", estimator, builder=builder, arg="required")
    frame = finite_floats(frame, ["value"]).filter(pl.col("value") > 0)
    return frame.group_by("length").agg(pl.col("value").mean()).sort("length")


def _fit_row(fit: object, estimator: str | None, builder: str) -> dict | None:
    if fit is None:
        return None
    if isinstance(fit, dict):
        rows = pl.DataFrame([fit])
    else:
        rows = require_frame(
            fit, builder=builder, arg="fit", required=FIT_REQUIRED, fix=REQUIRED_FIX
        )
    missing = [c for c in FIT_REQUIRED if c not in rows.columns]
    if missing:
        raise InputError(f"{builder}: `fit` lacks {missing}", REQUIRED_FIX)
    if "law" in rows.columns:
        rows = rows.filter(pl.col("law") == "power")
    if "ratio" in rows.columns:
        rows = rows.filter(pl.col("ratio").is_null() | (pl.col("ratio") == 2))
    if estimator is not None and "estimator" in rows.columns:
        rows = rows.filter(pl.col("estimator") == estimator)
    if rows.height != 1:
        raise InputError(
            f"{builder}: `fit` must hold one power-law row for ℓ = L/2, it holds {rows.height}",
            "filter the fits table to one run, estimator and ratio 2",
        )
    return rows.row(0, named=True)


def _panel(
    base: alt.Chart,
    x: alt.X,
    y: alt.Y,
    *,
    colour: alt.Color,
    shape: alt.Shape,
    tooltip: list[alt.Tooltip],
    dash: dict,
    names: tuple[str, str],
    title: str,
    note: str,
    under: tuple[alt.Chart, ...] = (),
) -> alt.LayerChart:
    """One panel: a line per model through its points (layers named ``names``: lines, points)
    over the layers ``under``, titled with one subtitle line ``note``."""
    lines, points = names
    return alt.layer(
        *under,
        base.mark_line(strokeWidth=2)
        .encode(x=x, y=y, color=colour, detail="model:N", **dash)
        .properties(name=lines),
        base.mark_point(filled=True, size=60)
        .encode(x=x, y=y, color=colour, shape=shape, tooltip=tooltip)
        .properties(name=points),
    ).properties(title=title_params(title, subtitle([note])), width=360, height=280)


def l2m_chart(
    states: pl.DataFrame,
    required: pl.DataFrame | None = None,
    *,
    fit: pl.DataFrame | dict | None = None,
    estimator: str | None = None,
    title: str = "L²M condition: history state vs the bipartite MI the data require",
) -> alt.HConcatChart:
    """Section 5: (a) dim(z_{L/2}) against the required I^BP_{L/2;L}, log-log, one line per
    model, with a slope-1 guide dim ∝ I^BP; (b) dim(z_{L/2}) / I^BP against L.

    The condition dim(z_{L/2}) ≳ I^BP_{L/2;L} is about growth: a curve in (a) flatter than the
    guide — a ratio in (b) that falls with L — belongs to a model scaling that cannot keep up
    (a fixed-size SSM state); a transformer's KV cache grows ∝ L and keeps up. The guide passes
    through the geometric mean of the models' points at their smallest common length.
    """
    builder = "l2m_chart"
    frame = require_frame(
        states, builder=builder, arg="states", required=STATES_REQUIRED, fix=STATES_FIX
    )
    frame = finite_floats(frame, ["state_dim"])
    bad = frame.filter(pl.col("state_dim").is_null() | (pl.col("state_dim") <= 0)).height
    if bad:
        raise InputError(
            f"{builder}: {bad} rows of `states` have state_dim ≤ 0 or missing",
            "state_dim counts the numbers in the history state: it must be > 0",
        )
    if required is None and fit is None:
        raise InputError(f"{builder}: neither `required` nor `fit` given", REQUIRED_FIX)
    measured = _required_rows(required, estimator, builder)
    fit_row = _fit_row(fit, estimator, builder)
    rows, dropped = [], 0
    lookup = (
        {} if measured is None else dict(zip(measured["length"], measured["value"], strict=True))
    )
    for r in frame.iter_rows(named=True):
        length = int(r["length"])
        if length in lookup:
            value, how = float(lookup[length]), "measured"
        elif fit_row is not None:
            value = float(fit_row["amplitude"]) * length ** float(fit_row["exponent"])
            inside = float(fit_row["x_min"]) <= length <= float(fit_row["x_max"])
            how = "power-law fit" if inside else "power-law fit, extrapolated"
        else:
            dropped += 1
            continue
        rows.append({**r, "length": length, "required_mi": value, "how": how})
    if not rows:
        raise InputError(
            f"{builder}: no state length has a required I_BP (measured lengths: {sorted(lookup)})",
            "measure those lengths, or pass fit= (a power-law row) to evaluate A·L^β",
        )
    data = pl.DataFrame(rows).with_columns(
        (pl.col("state_dim") / pl.col("required_mi")).alias("dim_per_nat")
    )
    data = data.sort("model", "length")
    order = data["model"].unique(maintain_order=True).to_list()
    colour = alt.Color("model:N", title="model", scale=color_scale(order, {}))
    shape = alt.Shape("how:N", title="required I_BP from")
    tooltip = [
        alt.Tooltip("model:N"),
        alt.Tooltip("length:Q", title="L (tokens)", format=",d"),
        alt.Tooltip("required_mi:Q", title="required I_BP(L/2; L) (nats)", format=".4g"),
        alt.Tooltip("how:N", title="from"),
        alt.Tooltip("state_dim:Q", title="dim z_{L/2}", format=",.4~g"),
        alt.Tooltip("dim_per_nat:Q", title="dims per nat", format=".4g"),
    ]
    dash = (
        {"strokeDash": alt.StrokeDash("architecture:N", legend=alt.Legend(symbolType="stroke"))}
        if "architecture" in data.columns
        else {}
    )
    style = dict(colour=colour, shape=shape, tooltip=tooltip, dash=dash)
    x_dom = padded_domain(data["required_mi"].to_list(), True)
    y_dom = padded_domain(data["state_dim"].to_list(), True)
    x_a = axis_channel(
        alt.X, "required_mi:Q", "required bipartite MI I_BP(L/2; L) (nats)", log=True, domain=x_dom
    )
    y_a = axis_channel(
        alt.Y, "state_dim:Q", "history-state size dim z_{L/2} (numbers)", log=True, domain=y_dom
    )
    smallest = data.filter(pl.col("length") == pl.col("length").min())
    k = math.exp(float(np.mean(np.log(smallest["dim_per_nat"].to_numpy()))))
    lo, hi = x_dom
    guide = pl.DataFrame({"required_mi": [lo, hi], "state_dim": [k * lo, k * hi]})
    base = alt.Chart(data)
    left = _panel(
        base,
        x_a,
        y_a,
        **style,
        names=("model-lines", "points"),
        title="(a) history state vs required MI",
        note="grey dashed: slope 1, dim ∝ I_BP (flatter: fails the L²M condition)",
        under=(
            alt.Chart(guide)
            .mark_line(color=GREY, strokeDash=[4, 4], strokeWidth=1.3, clip=True)
            .encode(x=x_a, y=y_a)
            .properties(name="reference"),
        ),
    )
    lx_dom = padded_domain(data["length"].to_list(), True)
    r_dom = padded_domain(data["dim_per_nat"].to_list(), True)
    right = _panel(
        base,
        axis_channel(alt.X, "length:Q", "sequence length L (tokens)", log=True, domain=lx_dom),
        axis_channel(
            alt.Y, "dim_per_nat:Q", "dim z_{L/2} / I_BP (numbers per nat)", log=True, domain=r_dom
        ),
        **style,
        names=("ratio-lines", "ratio-points"),
        title="(b) state size per nat of required MI",
        note="falling with L: the state cannot keep up with I_BP ∼ L^β",
    )
    notes = []
    if fit_row is not None and data.filter(pl.col("how") != "measured").height:
        notes.append(
            f"required I_BP where not measured: A·L^β with β = {float(fit_row['exponent']):.3f}"
            + (f" ({fit_row['estimator']})" if fit_row.get("estimator") else "")
        )
    if dropped:
        notes.append(f"{dropped} state rows without a required I_BP at their length not shown")
    return alt.hconcat(left, right).properties(title=title_params(title, subtitle(notes)))
