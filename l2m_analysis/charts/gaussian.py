"""The two Gaussian families side by side (Fig. 3): different bipartite, identical two-point MI.

Inputs (nats): ``estimates``, rows of ``mi_estimates``, and optional ``fits``, rows of the
``fits`` table; their contracts are in ``charts._gaussian_series`` (and docs/charts.md).
(a) draws each family's *preferred* law (``preferred_law``: the power law I = A·L^β, or the
log law I = a·log L + b) with its 95 % band; (b) draws the decay I = A·d^(−α) + C.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import polars as pl

from l2m_analysis.charts._common import (
    ERRORBAR_NOTE,
    exponent_text,
    filter_equal,
    fmt,
    parse_detail,
    subtitle,
)
from l2m_analysis.charts._fitcurves import decay_curve, log_law_curve, power_law_curve
from l2m_analysis.charts._gaussian_series import (
    family_curve,
    family_fits,
    family_label,
    family_points,
    family_rows,
    pick_fit,
)
from l2m_analysis.charts._layers import has_error_bars, layered, log_y_points, series_layers
from l2m_analysis.charts.theme import color_scale

FAMILY_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
CURVE_TOOLTIP = [
    alt.Tooltip("series:N", title="family"),
    alt.Tooltip("law:N", title="law"),
    alt.Tooltip("parameter:N", title="fitted"),
    alt.Tooltip("r2:Q", title="R²", format=".4f"),
    alt.Tooltip("band_method:N", title="band"),
    alt.Tooltip("fit_warnings:N", title="fit warnings"),
]


def _point_tooltip(x_title: str, y_title: str, *, stderr: bool) -> list[alt.Tooltip]:
    tips = [
        alt.Tooltip("series:N", title="family"),
        alt.Tooltip("x:Q", title=x_title, format=",d"),
        alt.Tooltip("y:Q", title=y_title, format=".4g"),
    ]
    if stderr:
        tips.append(alt.Tooltip("stderr:Q", title="stderr (nats)", format=".3g"))
    return tips


def _draw(
    frame: pl.DataFrame,
    x_col: str,
    sources: list[str],
    labels: dict[str, str],
    curves: list[pl.DataFrame],
    *,
    x_title: str,
    y_title: str,
    title: str,
    notes: list[str],
    tooltip: list[alt.Tooltip],
    filled: bool = True,
) -> alt.LayerChart:
    """The log-log chart of the families' points (``x_col`` against value) and curves."""
    points, n_dropped, n_clipped = log_y_points(family_points(frame, x_col, labels))
    lines = [
        ERRORBAR_NOTE if has_error_bars(points) else "exact values (no error bars)",
        *notes,
        None if n_dropped == 0 else f"{n_dropped} points ≤ 0 not shown (log)",
        None if n_clipped == 0 else f"{n_clipped} lower error bars cut at the axis",
    ]
    order = [labels[s] for s in sources]
    scale = color_scale(order, dict(zip(order, FAMILY_COLOURS, strict=False)))
    layers = series_layers(
        points,
        pl.concat(curves, how="diagonal_relaxed") if curves else None,
        x_title=x_title,
        y_title=y_title,
        color=scale,
        legend_title="distribution family (dashed: fitted law, band 95 %)",
        point_tooltip=tooltip,
        curve_tooltip=CURVE_TOOLTIP,
        filled=filled,
    )
    return layered(layers, title=title, notes=subtitle(lines), width=380, height=280)


def gaussian_bipartite_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    estimator: str = "exact",
    ratio: int = 2,
    families: Sequence[str] | None = None,
    run_id: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. 3a: exact I_BP(L/ratio; L) against L for each family, log-log, with its preferred law.

    The sub-volume family grows as L^β (a straight line), the log family as log L (a curve
    that bends down on log-log axes); the legend names each family's preferred law and its
    fitted parameter with the 95 % interval.
    """
    builder = "gaussian_bipartite_chart"
    frame = family_rows(estimates, builder, "bipartite", "length", estimator, families, run_id)
    if "ratio" in frame.columns:
        frame = filter_equal(frame, "ratio", ratio, builder=builder, arg="estimates")
    fit_rows = family_fits(fits, builder, "bipartite", estimator)
    sources = frame["source"].unique(maintain_order=True).to_list()
    labels, curves, notes, bands = {}, [], [], set()
    for src in sources:
        rows = frame.filter(pl.col("source") == src)
        power = pick_fit(fit_rows, src, run_id, ratio, "power")
        law = (power or {}).get("preferred_law") or "power"
        fit = power if law == "power" else pick_fit(fit_rows, src, run_id, ratio, "log")
        labels[src] = family_label(src)
        if fit is None:
            continue
        x, y = rows["length"].to_numpy().astype(float), rows["value"].to_numpy()
        se = rows["stderr"].to_numpy() if rows["stderr"].null_count() < rows.height else None
        if law == "power":
            curve = power_law_curve(fit, x, y, se)
            param = exponent_text("β", fit["exponent"], fit["exponent_lo"], fit["exponent_hi"])
            labels[src] += f": L^β, {param}"
        else:
            curve = log_law_curve(fit, x, y, se)
            d = parse_detail(fit.get("detail"))
            param = exponent_text(
                "a", fit["amplitude"], d.get("slope_lo"), d.get("slope_hi"), ".4f"
            )
            labels[src] += f": a·log L + b, {param}"
        bands.add(curve.band)
        frame_c, note = family_curve(
            src,
            labels[src],
            fit,
            curve.x,
            curve.y,
            curve.lo,
            curve.hi,
            law="power law I = A·L^β" if law == "power" else "log law I = a·log L + b",
            parameter=param,
            band_method=curve.band,
        )
        curves.append(frame_c)
        notes += [note] if note else []
    if curves:
        kinds = " / ".join(sorted(bands))
        notes.insert(0, f"dashed: each family's preferred law (by AIC); band: 95 % ({kinds})")
    return _draw(
        frame,
        "length",
        sources,
        labels,
        curves,
        x_title="sequence length L (tokens)",
        y_title=f"bipartite MI I(L/{ratio}; L) (nats)",
        title=title or "(a) Bipartite MI of the Gaussian families",
        notes=notes,
        tooltip=_point_tooltip("L (tokens)", "I_BP (nats)", stderr=True),
    )


def gaussian_two_point_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    estimator: str = "exact",
    families: Sequence[str] | None = None,
    run_id: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. 3b: exact two-point MI I_d against d for each family, log-log, with the decay fit.

    estimator 'exact' (default): the pair at maximum separation d = L − 1, identical for the
    two families as in the paper; 'exact_pair_average': averaged over all pairs at distance d.
    """
    builder = "gaussian_two_point_chart"
    frame = family_rows(estimates, builder, "two_point", "distance", estimator, families, run_id)
    fit_rows = family_fits(fits, builder, "two_point", estimator)
    sources = frame["source"].unique(maintain_order=True).to_list()
    labels, curves, notes = {}, [], []
    for src in sources:
        fit = pick_fit(fit_rows, src, run_id, None, "decay")
        labels[src] = family_label(src)
        if fit is None:
            continue
        corrected, with_offset = decay_curve(fit)
        param = exponent_text("α", fit["exponent"], fit["exponent_lo"], fit["exponent_hi"])
        labels[src] += f": {param}"
        frame_c, note = family_curve(
            src,
            labels[src],
            fit,
            corrected.x,
            with_offset,
            None,
            None,
            law="decay I = A·d^−α + C",
            parameter=f"{param}, C = {fmt(fit.get('offset_c'), '.3g')}",
            band_method="none",
        )
        curves.append(frame_c)
        notes += [note] if note else []
    if curves:
        notes.insert(0, "dashed: fitted decay I_d = A·d^−α + C (Eq. A.18)")
    if len(sources) > 1 and _identical(frame):
        notes.append("the families' values coincide (open markers drawn over each other)")
    return _draw(
        frame,
        "distance",
        sources,
        labels,
        curves,
        x_title="distance d (tokens)",
        y_title="two-point MI I_d (nats)",
        title=title or "(b) Two-point MI of the Gaussian families",
        notes=notes,
        tooltip=_point_tooltip("d (tokens)", "I_d (nats)", stderr=False),
        filled=False,
    )


def _identical(frame: pl.DataFrame) -> bool:
    """Whether every family has the same values at the same distances (up to rounding)."""
    groups = [g.sort("distance")["value"].to_numpy() for _, g in frame.group_by("source")]
    return all(g.shape == groups[0].shape and np.allclose(g, groups[0]) for g in groups[1:])


def gaussian_families_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    ratio: int = 2,
    two_point_estimator: str = "exact",
    families: Sequence[str] | None = None,
    run_id: str | None = None,
    title: str = "Gaussian families: bipartite vs two-point MI scaling (Fig. 3)",
) -> alt.HConcatChart:
    """Fig. 3: (a) ``gaussian_bipartite_chart`` and (b) ``gaussian_two_point_chart``
    side by side."""
    left = gaussian_bipartite_chart(estimates, fits, ratio=ratio, families=families, run_id=run_id)
    right = gaussian_two_point_chart(
        estimates, fits, estimator=two_point_estimator, families=families, run_id=run_id
    )
    return (
        alt.hconcat(left, right)
        .resolve_scale(color="independent", shape="independent")
        .properties(title=alt.TitleParams(title, fontSize=16))
    )
