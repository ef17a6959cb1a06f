"""Bipartite mutual information against sequence length L (Fig. 2 b–c, A.1, A.3).

Inputs (all values in nats): ``estimates``, rows of ``mi_estimates`` or the output of
``queries/bipartite_mi.sql``, and ``fits``, rows of the ``fits`` table; their contracts are in
``charts._bipartite_series`` (and docs/charts.md).

The fitted line is I = A·L^β over the fitted range [x_min, x_max]; its band is the 95 %
confidence band of that line, computed from the stored intervals (``charts._fitcurves``:
"regression" band when the points the fit used can be matched, else the "pivot" band of
β_lo..β_hi through the fitted value at the log-centre of the range). The subtitle says which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import altair as alt
import polars as pl

from l2m_analysis.charts._bipartite_series import (
    default_estimators,
    prepare_estimates,
    prepare_fits,
    series_frames,
)
from l2m_analysis.charts._common import (
    ERRORBAR_NOTE,
    dropped_note,
    filter_by,
    filter_equal,
    no_rows_left,
    subtitle,
    values_of,
)
from l2m_analysis.charts._layers import (
    exponent_tooltip,
    has_error_bars,
    layered,
    log_y_points,
    series_layers,
)
from l2m_analysis.charts.theme import ESTIMATOR_COLORS, ESTIMATOR_LABELS, color_scale
from l2m_analysis.errors import InputError

Y_TITLE = "bipartite MI I(X; Y) (nats)"
X_TITLE = "sequence length L (tokens)"
COMPARISON_ORDER = ("exact", "direct", "direct_uncorrected", "vclub", "exact_vclub")
CURVE_TOOLTIP = [
    alt.Tooltip("series:N", title="series"),
    *exponent_tooltip("beta", "β"),
    alt.Tooltip("r2:Q", title="R² (log I)", format=".4f"),
    alt.Tooltip("n_points:Q", title="points fitted"),
    alt.Tooltip("verdict:N", title="preferred law"),
    alt.Tooltip("band_method:N", title="band"),
    alt.Tooltip("fit_warnings:N", title="fit warnings"),
]


def _estimator_label(estimator: str) -> str:
    return ESTIMATOR_LABELS.get(estimator, estimator)


def _where(ratio: int | None) -> str:
    return f"ℓ = L/{ratio}" if ratio is not None else "all ratios L/ℓ"


def _selected(
    estimates: object, builder: str, run_id: str | None, source: str | None, ratio: int | None
) -> pl.DataFrame:
    """The bipartite rows of that run, source and ratio L/ℓ (None: all)."""
    return filter_by(
        prepare_estimates(estimates, builder),
        builder=builder,
        arg="estimates",
        run_id=run_id,
        source=source,
        ratio=ratio,
    )


def _point_tooltip(points: pl.DataFrame) -> list[alt.Tooltip]:
    tips = [alt.Tooltip("series:N", title="series")]
    tips.append(alt.Tooltip("x:Q", title="L (tokens)", format=",d"))
    if "split_at" in points.columns:
        tips.append(alt.Tooltip("split_at:Q", title="ℓ (tokens)", format=",d"))
    if "ratio" in points.columns:
        tips.append(alt.Tooltip("ratio:Q", title="L/ℓ"))
    tips.append(alt.Tooltip("y:Q", title="I (nats)", format=".4g"))
    tips.append(alt.Tooltip("stderr:Q", title="stderr (nats)", format=".3g"))
    if "n" in points.columns:
        tips.append(alt.Tooltip("n:Q", title="n (pairs)", format=",d"))
    if "run_id" in points.columns:
        tips.append(alt.Tooltip("run_id:N", title="run"))
    return tips


def _draw(
    frame: pl.DataFrame,
    fits: pl.DataFrame | None,
    *,
    builder: str,
    group: str,
    group_label: Callable[[Any], str],
    title: str,
    legend_title: str,
    fixed_colours: dict[str, str],
    join_points: bool = False,
) -> alt.LayerChart:
    """The log-log chart of the series of ``frame`` (one per ``group`` value and key columns,
    see ``series_frames``) with their fits; ``join_points`` joins each series' points."""
    points, curves, labels, colour_keys, notes = series_frames(
        frame, fits, group=group, group_label=group_label, builder=builder
    )
    n_all = points.height
    points, n_dropped, n_clipped = log_y_points(points)
    if points.height == 0:
        raise InputError(
            f"every bipartite MI value is ≤ 0 or missing ({n_all} rows): nothing to draw on "
            "log axes",
            "check the estimator (a bias-dominated series can be negative at small L)",
        )
    lines = [
        ERRORBAR_NOTE if has_error_bars(points) else "no stderr: no error bars",
        *notes,
        dropped_note(n_dropped, "I ≤ 0 (or missing)"),
        None
        if n_clipped == 0
        else f"{n_clipped} lower error bars reach ≤ 0 and are cut at the axis (log scale)",
    ]
    scale = color_scale(
        labels,
        {
            lab: fixed_colours[colour_keys[lab]]
            for lab in labels
            if colour_keys[lab] in fixed_colours
        },
    )
    layers = series_layers(
        points,
        curves,
        x_title=X_TITLE,
        y_title=Y_TITLE,
        color=scale,
        legend_title=legend_title,
        point_tooltip=_point_tooltip(points),
        curve_tooltip=CURVE_TOOLTIP,
        connect=labels if join_points else (),
    )
    return layered(layers, title=title, notes=subtitle(lines))


def bipartite_mi_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    estimators: Sequence[str] | None = None,
    ratio: int | None = 2,
    run_id: str | None = None,
    source: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. 2 b–c: I_BP(ℓ = L/ratio; L) against L on log-log axes, one colour per estimator.

    Points are the estimates with error bars ±1.96·stderr; the dashed line is the stored power
    law I = A·L^β of each series over its fitted range, with the 95 % band described in the
    module docstring; the legend carries β and its 95 % interval, the tooltips every number.

    estimators: default the main-text ones present: 'direct' (else 'direct_uncorrected') and
    'vclub'. ratio: L/ℓ (default 2, ℓ = L/2; None keeps every ratio as its own series).
    run_id/source: keep only that run or source (both frames). Points with I ≤ 0 cannot be
    shown on the log axis: they are dropped and counted in the subtitle.
    """
    builder = "bipartite_mi_chart"
    frame = _selected(estimates, builder, run_id, source, ratio)
    chosen = list(estimators) if estimators is not None else default_estimators(frame)
    frame = filter_equal(frame, "estimator", chosen, builder=builder, arg="estimates")
    return _draw(
        frame,
        prepare_fits(fits, builder, run_id, source),
        builder=builder,
        group="estimator",
        group_label=_estimator_label,
        title=title or f"Bipartite mutual information vs length ({_where(ratio)})",
        legend_title="estimator (fit: I = A·L^β, β with 95 % CI)",
        fixed_colours=ESTIMATOR_COLORS,
    )


def estimator_comparison_chart(
    estimates: pl.DataFrame,
    *,
    estimators: Sequence[str] | None = None,
    ratio: int | None = 2,
    run_id: str | None = None,
    source: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. A.1: every bipartite estimator of one run on the same log-log axes.

    estimators: default those present of exact, direct, direct_uncorrected, vclub, exact_vclub
    (exact: the true I_BP of Gaussian runs; exact_vclub: what vCLUB converges to when q = p).
    Points are joined per estimator so the small-L bias of the uncorrected estimator and the
    convergence at large L read at a glance; error bars ±1.96·stderr.
    """
    builder = "estimator_comparison_chart"
    frame = _selected(estimates, builder, run_id, source, ratio)
    if estimators is None:
        present = set(frame["estimator"].to_list())
        estimators = [e for e in COMPARISON_ORDER if e in present]
        if not estimators:
            raise no_rows_left(
                builder,
                "estimates",
                f"estimators {list(COMPARISON_ORDER)}",
                values_of(frame, "estimator"),
            )
    frame = filter_equal(frame, "estimator", list(estimators), builder=builder, arg="estimates")
    order = {e: i for i, e in enumerate(estimators)}
    frame = frame.sort(pl.col("estimator").replace_strict(order, default=len(order)), "length")
    return _draw(
        frame,
        None,
        builder=builder,
        group="estimator",
        group_label=_estimator_label,
        title=title or f"Bipartite MI estimators compared ({_where(ratio)})",
        legend_title="estimator",
        fixed_colours=ESTIMATOR_COLORS,
        join_points=True,
    )


def ratio_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    estimator: str | None = None,
    ratios: Sequence[int] = (2, 3, 4),
    run_id: str | None = None,
    source: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. A.3: I_BP against L for the ratios L/ℓ = 2, 3, 4 of one estimator, each with its fit.

    estimator: default 'direct' (else the first of the main-text estimators present). Colours
    are the ratios; the legend carries each ratio's β with its 95 % interval.
    """
    builder = "ratio_chart"
    frame = prepare_estimates(estimates, builder)
    if "ratio" not in frame.columns:
        raise InputError(
            f"{builder}: `estimates` has no `ratio` column (L/ℓ)",
            "pass rows of mi_estimates or queries/bipartite_mi.sql, which carry `ratio`",
        )
    frame = filter_by(frame, builder=builder, arg="estimates", run_id=run_id, source=source)
    estimator = estimator or default_estimators(frame)[0]
    frame = filter_by(
        frame, builder=builder, arg="estimates", estimator=estimator, ratio=list(ratios)
    )
    title = title or f"Bipartite MI for ratios L/ℓ = {', '.join(map(str, ratios))}"
    return _draw(
        frame.sort("ratio", "length"),
        prepare_fits(fits, builder, run_id, source),
        builder=builder,
        group="ratio",
        group_label=lambda r: f"L/ℓ = {r}",
        title=f"{title} — {_estimator_label(estimator)}",
        legend_title="ratio L/ℓ (fit: I = A·L^β, β with 95 % CI)",
        fixed_colours={},
    )
