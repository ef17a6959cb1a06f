"""The two Gaussian families side by side (Fig. 3): different bipartite, identical two-point MI.

Inputs (nats): ``estimates``, the ``mi_estimates`` rows of the exact run (``pipelines.gaussian_mi``,
one ``source`` per family), and ``fits``, rows of the ``fits`` table (``charts.series``).
(a) draws each family's *preferred* law (power I = A·L^β, or log I = a·log L + b) with its
95 % band; (b) the decay I = A·d^(−α) + C (Eq. A.18).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import polars as pl

from l2m_analysis.charts.series import mi_chart, run_fits, run_rows

LEGEND = "distribution family (dashed: fitted law, band 95 %)"


def family_label(source: str) -> str:
    """'sub-volume (gaussian_subvolume)', 'log (gaussian_log)', else the source."""
    kind = "sub-volume" if "subvolume" in source else "log" if "log" in source else None
    return f"{kind} ({source})" if kind else source


def _draw(rows: pl.DataFrame, fits: pl.DataFrame | None, law: str, **kwargs) -> alt.LayerChart:
    """One family per series (``source``) with its fitted ``law``, at the panel size of Fig. 3."""
    return mi_chart(
        rows,
        fits,
        group="source",
        label=family_label,
        law=law,
        legend=LEGEND,
        size=(380, 280),
        **kwargs,
    )


def gaussian_bipartite_chart(
    estimates: pl.DataFrame, fits: pl.DataFrame | None = None, *, ratio: int = 2
) -> alt.LayerChart:
    """Fig. 3a: exact I_BP(L/ratio; L) against L per family, log-log, with the law AIC prefers:
    the sub-volume family's power law is a straight line, the log family's log law bends."""
    builder = "gaussian_bipartite_chart"
    rows = run_rows(estimates, builder, "bipartite", estimator="exact", ratio=ratio)
    axes = ("sequence length L (tokens)", f"bipartite MI I(L/{ratio}; L) (nats)")
    title = "(a) Bipartite MI of the Gaussian families"
    return _draw(rows, run_fits(fits, builder, rows), "preferred", title=title, axes=axes)


def gaussian_two_point_chart(
    estimates: pl.DataFrame, fits: pl.DataFrame | None = None, *, estimator: str = "exact"
) -> alt.LayerChart:
    """Fig. 3b: exact two-point MI I_d against d per family with the fitted decay. estimator
    'exact': the pair at maximum separation d = L − 1 (identical for the two families, as in
    the paper; open markers so both show); 'exact_pair_average': all pairs at distance d."""
    builder = "gaussian_two_point_chart"
    rows = run_rows(estimates, builder, "two_point", estimator=estimator)
    values = [g.sort("x")["y"].to_numpy() for _, g in rows.group_by("source")]
    same = len(values) > 1 and all(
        v.shape == values[0].shape and np.allclose(v, values[0]) for v in values[1:]
    )
    note = "the families' values coincide (drawn over each other)" if same else None
    axes = ("distance d (tokens)", "two-point MI I_d (nats)")
    title = "(b) Two-point MI of the Gaussian families"
    fits = run_fits(fits, builder, rows)
    return _draw(rows, fits, "decay", title=title, axes=axes, filled=False, notes=(note,))


def gaussian_families_chart(
    estimates: pl.DataFrame, fits: pl.DataFrame | None = None, *, ratio: int = 2
) -> alt.HConcatChart:
    """Fig. 3: (a) ``gaussian_bipartite_chart`` and (b) ``gaussian_two_point_chart``."""
    panels = alt.hconcat(
        gaussian_bipartite_chart(estimates, fits, ratio=ratio),
        gaussian_two_point_chart(estimates, fits),
    )
    title = alt.TitleParams(
        "Gaussian families: bipartite vs two-point MI scaling (Fig. 3)", fontSize=16
    )
    return panels.resolve_scale(color="independent", shape="independent").properties(title=title)
