"""Bipartite mutual information against sequence length L (Fig. 2 b–c, A.1, A.3).

Inputs (nats): ``estimates``, the ``mi_estimates`` rows of one run, and ``fits``, rows of the
``fits`` table (contracts in ``charts.series``). Each fitted series is drawn with its stored
power law I = A·L^β over the fitted range and the 95 % band of that line (``fits.bands``).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from l2m_analysis.charts.common import pick
from l2m_analysis.charts.series import mi_chart, run_fits, run_rows
from l2m_analysis.charts.theme import ESTIMATOR_COLORS, ESTIMATOR_LABELS

AXES = ("sequence length L (tokens)", "bipartite MI I(X; Y) (nats)")
COMPARED = ("exact", "direct", "direct_uncorrected", "vclub", "exact_vclub", "compression_lzma",
            "compression_lzma_iid")  # fmt: skip


def _label(estimator: str) -> str:
    return ESTIMATOR_LABELS.get(estimator, estimator)


def default_estimators(rows: pl.DataFrame) -> list[str]:
    """The main-text estimators present: direct (or direct_uncorrected without it) and vCLUB."""
    present = set(rows["estimator"])
    direct = "direct" if "direct" in present else "direct_uncorrected"
    return [e for e in (direct, "vclub") if e in present] or sorted(present)


def bipartite_mi_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    estimators: Sequence[str] | None = None,
    ratio: int = 2,
) -> alt.LayerChart:
    """Fig. 2 b–c: I_BP(ℓ = L/ratio; L) against L, log-log, one colour per estimator (default
    the main-text ones: direct, or direct_uncorrected without it, and vCLUB), points ± 1.96·
    stderr, the stored power law of each and its band; β with its interval in the legend."""
    builder = "bipartite_mi_chart"
    rows = run_rows(estimates, builder, "bipartite", ratio=ratio)
    rows = pick(rows, builder, "estimates", estimator=list(estimators or default_estimators(rows)))
    return mi_chart(
        rows,
        run_fits(fits, builder, rows),
        group="estimator",
        label=_label,
        law="power",
        fixed=ESTIMATOR_COLORS,
        axes=AXES,
        title=f"Bipartite mutual information vs length (ℓ = L/{ratio})",
        legend="estimator (fit: I = A·L^β, β with 95 % CI)",
    )


def estimator_comparison_chart(estimates: pl.DataFrame, *, ratio: int = 2) -> alt.LayerChart:
    """Fig. A.1: every bipartite estimator of one run present among ``COMPARED`` (exact: the
    true I_BP of a Gaussian run; exact_vclub: what vCLUB converges to when q = p), points joined
    per estimator: the small-L bias and the convergence at large L read at a glance."""
    builder = "estimator_comparison_chart"
    rows = run_rows(estimates, builder, "bipartite", ratio=ratio)
    rows = pick(rows, builder, "estimates", estimator=list(COMPARED))
    rows = rows.sort(pl.col("estimator").replace_strict(COMPARED, range(len(COMPARED))), "x")
    return mi_chart(
        rows,
        None,
        group="estimator",
        label=_label,
        law="power",
        fixed=ESTIMATOR_COLORS,
        join=True,
        axes=AXES,
        legend="estimator",
        title=f"Bipartite MI estimators compared (ℓ = L/{ratio})",
    )


def ratio_chart(
    estimates: pl.DataFrame, fits: pl.DataFrame | None = None, *, estimator: str | None = None
) -> alt.LayerChart:
    """Fig. A.3: I_BP against L at every ratio L/ℓ of one estimator (default: direct, else the
    first main-text one present), each ratio with its own fitted power law and β."""
    builder = "ratio_chart"
    rows = run_rows(estimates, builder, "bipartite")
    estimator = estimator or default_estimators(rows)[0]
    rows = pick(rows, builder, "estimates", estimator=estimator).sort("ratio", "x")
    ratios = ", ".join(map(str, rows["ratio"].unique().sort()))
    return mi_chart(
        rows,
        run_fits(fits, builder, rows),
        group="ratio",
        law="power",
        label=lambda r: f"L/ℓ = {r}",
        axes=AXES,
        title=f"Bipartite MI for L/ℓ = {ratios} — {_label(estimator)}",
        legend="ratio L/ℓ (fit: I = A·L^β, β with 95 % CI)",
    )
