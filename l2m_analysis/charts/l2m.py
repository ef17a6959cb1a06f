"""The L²M condition chart (Section 5, Theorem 5.4): history-state size vs the MI data require.

Theorem 5.2 bounds what a model can capture by the size of its history state z_{L/2}:
I^{BP,q}_{L/2;L} ≤ C·dim(z_{L/2}) + log M. A model scaling is MI-capable only if dim(z_{L/2})
grows at least as fast as the data's I^BP_{L/2;L} ∼ L^β (the L²M condition).

Inputs: ``states``, the frame of ``l2m_condition.history_state.history_state_frame`` (model,
architecture, length L, state_dim: numbers held in z_{L/2}); ``estimates``, the
``mi_estimates`` rows of one bipartite series at ℓ = L/2 (one run, source and estimator; e.g.
the exact sub-volume Gaussian), in nats. State lengths without an estimate are dropped and
counted; the fitted law's extrapolation is the headline's (``fits.bands.crossing``).
``capacities`` (optional), the frame of ``l2m_condition.capacity_curve.capacity_frame``, adds
panel (c): the exact linear capacity of D numbers against D beside the bound C·D + log M.
Theorem 5.2 is a bound: where the data's I^BP exceeds it the model must fail; below it, it may.
"""

from __future__ import annotations

import math

import altair as alt
import polars as pl

from l2m_analysis.charts.common import axis, domain, layer, require, titled, tooltips
from l2m_analysis.charts.series import run_rows
from l2m_analysis.charts.theme import GREY, colour_scale
from l2m_analysis.errors import InputError

STATES = ("model", "architecture", "length", "state_dim")
STATES_FIX = "pass l2m_analysis.l2m_condition.history_state.history_state_frame(presets, lengths)"
GUIDE = {"color": GREY, "strokeDash": [4, 4], "strokeWidth": 1.3, "clip": True}
TIPS = {"model": "model", "length": "L (tokens)", "required_mi": "required I_BP(L/2; L) (nats)",
        "state_dim": "dim z_{L/2} (numbers)", "dim_per_nat": "numbers per nat"}  # fmt: skip
PANELS = (  # x, y, axis titles, layer names, title, note
    ("required_mi", "state_dim", "required bipartite MI I_BP(L/2; L) (nats)",
     "history-state size dim z_{L/2} (numbers)", ("model-lines", "points"),
     "(a) history state vs required MI",
     "grey dashed: slope 1, dim ∝ I_BP (flatter: fails the L²M condition)"),
    ("length", "dim_per_nat", "sequence length L (tokens)", "dim z_{L/2} / I_BP (numbers per nat)",
     ("ratio-lines", "ratio-points"), "(b) state size per nat of required MI",
     "falling with L: the state cannot keep up with I_BP ∼ L^β"),
)  # fmt: skip


CAPACITY = ("curve", "model", "state_dim", "nats", "length", "copies")
CAPACITY_FIX = "pass l2m_analysis.l2m_condition.capacity_curve.capacity_frame(presets, copies)"


def l2m_chart(
    states: pl.DataFrame, estimates: pl.DataFrame, capacities: pl.DataFrame | None = None
) -> alt.HConcatChart:
    """Section 5: (a) dim(z_{L/2}) against the required I^BP_{L/2;L}, log-log, one line per
    model, with a grey slope-1 guide dim ∝ I^BP through the geometric mean of the models'
    points at the smallest length: a curve flatter than the guide belongs to a scaling that
    cannot keep up (a fixed-size SSM state); (b) dim(z_{L/2}) / I^BP against L; with
    ``capacities``, (c) the nats D numbers can hold at one L: the exact linear capacity, the
    bound C·D + log M and each model's dim(z_{L/2})."""
    builder = "l2m_chart"
    frame = require(states, builder, "states", STATES, STATES_FIX)
    if frame.filter(pl.col("state_dim") <= 0).height:
        raise InputError(f"{builder}: `states` has state_dim ≤ 0", "state_dim counts numbers: > 0")
    rows = run_rows(estimates, builder, "bipartite", ratio=2)
    if (series := rows.select("source", "estimator").unique()).height > 1:
        raise InputError(
            f"{builder}: `estimates` holds several series: {series.rows()}",
            "filter it to one source and estimator, e.g. the exact sub-volume law",
        )
    required = rows.group_by("length").agg(required_mi=pl.col("value").mean())
    data = frame.join(required, on="length").filter(pl.col("required_mi") > 0)
    if data.height == 0:
        lengths = sorted(required["length"])
        raise InputError(
            f"{builder}: no state length has a required I_BP (estimated at L = {lengths})",
            "pass states at those lengths",
        )
    data = data.with_columns(dim_per_nat=pl.col("state_dim") / pl.col("required_mi"))
    data = data.sort("model", "length")
    colour = alt.Color("model:N", scale=colour_scale(data["model"].unique(maintain_order=True)))
    dash = alt.StrokeDash("architecture:N", legend=alt.Legend(symbolType="stroke"))
    first = data.filter(pl.col("length") == pl.col("length").min())["dim_per_nat"]
    k = math.exp(first.log().mean())
    lo, hi = domain(data["required_mi"], log=True)
    guide = pl.DataFrame({"required_mi": [lo, hi], "state_dim": [k * lo, k * hi]})
    panels = []
    for x_col, y_col, x_title, y_title, names, title, note in PANELS:
        enc = dict(x=axis(alt.X, f"{x_col}:Q", x_title, data[x_col]),
                   y=axis(alt.Y, f"{y_col}:Q", y_title, data[y_col]))  # fmt: skip
        reference = (
            layer(guide, "reference", "line", GUIDE, **enc) if x_col == "required_mi" else None
        )
        lines = layer(data, names[0], "line", {"strokeWidth": 2}, color=colour, detail="model:N",
                      strokeDash=dash, **enc)  # fmt: skip
        points = layer(data, names[1], "point", {"filled": True, "size": 60}, color=colour,
                       tooltip=tooltips(data, TIPS), **enc)  # fmt: skip
        chart = alt.layer(*filter(None, (reference, lines, points)))
        panels.append(titled(chart.properties(width=360, height=280), title, [note]))
    if capacities is not None:
        panels.append(capacity_panel(require(capacities, builder, "capacities", CAPACITY,
                                             CAPACITY_FIX), colour))  # fmt: skip
    source = f"{rows['source'][0]}, {rows['estimator'][0]}, run {rows['run_id'][0]}"
    dropped = frame.height - data.height
    notes = [f"required I_BP: {source}", dropped and f"{dropped} state rows without an estimate "
             "at their length not shown"]  # fmt: skip
    title = "L²M condition (a bound): history state vs the bipartite MI the data require"
    return titled(alt.hconcat(*panels), title, notes)


def capacity_panel(capacities: pl.DataFrame, colour: alt.Color):
    """(c): nats against D numbers, log-log: the linear capacity (solid), exact I^BP (grey),
    C·D + log M per C (dashed) and the models' states (points, coloured as in (a))."""
    curves = capacities.filter(pl.col("curve") != "model")
    models = capacities.filter(pl.col("curve") == "model")
    enc = dict(x=axis(alt.X, "state_dim:Q", "state size D (numbers)", capacities["state_dim"]),
               y=axis(alt.Y, "nats:Q", "MI a state of D numbers can hold (nats)",
                      capacities["nats"]))  # fmt: skip
    dash = alt.StrokeDash("curve:N", title="curve", legend=alt.Legend(symbolType="stroke"))
    lines = layer(curves, "capacity-lines", "line", {"strokeWidth": 2, "color": GREY,
                  "clip": True}, strokeDash=dash, detail="curve:N", **enc)  # fmt: skip
    points = layer(models, "capacity-points", "point", {"filled": True, "size": 60},
                   color=colour, tooltip=tooltips(models, {"model": "model",
                   "state_dim": "dim z_{L/2} (numbers)", "nats": "linear capacity (nats)"}),
                   **enc)  # fmt: skip
    length, copies = capacities["length"][0], capacities["copies"][0]
    title = f"(c) capacity of D numbers, sub-volume Gaussian at L = {length}, {copies}/token"
    note = (
        "solid: exact MI of the best linear summary of D numbers of the past; dashed: "
        "Theorem 5.2's bound C·D + log M (C unknown); a state below the exact I_BP cannot "
        "hold it linearly"
    )
    chart = alt.layer(*filter(None, (lines, points)))
    return titled(chart.properties(width=360, height=280), title, [note])
