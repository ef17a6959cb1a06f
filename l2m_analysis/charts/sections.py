"""Which charts a warehouse's data can draw, in report order: one ``ReportSection`` each.

``ReportFrames`` holds the frames the report reads (each the output of a named query or a
table, loaded by the caller through the warehouse); ``report_sections`` turns them into
sections — the Gaussian families (Fig. 3), every scored run's bipartite MI with its fitted law,
estimator comparison and ratios (Fig. 2 b–c, A.1, A.3), every corpus run's two-point MI
(Fig. 2, A.4), per-position NLL/KL (Fig. 4–5) and the L²M condition (Section 5) — skipping
what the data do not hold. Pure: frames in, sections out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

from l2m_analysis.charts.bipartite import (
    bipartite_mi_chart,
    estimator_comparison_chart,
    ratio_chart,
)
from l2m_analysis.charts.gaussian import gaussian_families_chart
from l2m_analysis.charts.l2m import l2m_chart
from l2m_analysis.charts.position import average_metric_chart, position_metric_chart
from l2m_analysis.charts.report_html import ReportSection
from l2m_analysis.charts.two_point import two_point_mi_chart

GAUSSIAN_FAMILIES = ("gaussian_subvolume", "gaussian_log")
SCORED = ("direct", "direct_uncorrected", "vclub")


@dataclass(frozen=True)
class ReportFrames:
    """The report's inputs (nats): table rows or query outputs, possibly empty."""

    runs: pl.DataFrame
    mi_estimates: pl.DataFrame
    fits: pl.DataFrame
    two_point: pl.DataFrame  # queries/two_point_mi.sql
    position_nll: pl.DataFrame  # queries/position_nll.sql
    position_kl: pl.DataFrame  # queries/position_kl.sql
    training_average_kl: pl.DataFrame = field(default_factory=pl.DataFrame)  # its query
    training_curves: pl.DataFrame = field(default_factory=pl.DataFrame)  # its query
    history_states: pl.DataFrame = field(default_factory=pl.DataFrame)  # the L²M condition


def slug(title: str) -> str:
    """A file name for a section title: lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80]


def report_sections(f: ReportFrames) -> list[ReportSection]:
    """Every chart the frames can fill, in report order."""
    sections = _gaussian(f) + _scored(f) + _two_point(f) + _positions(f) + _l2m(f)
    return sections


def _gaussian(f: ReportFrames) -> list[ReportSection]:
    exact = f.mi_estimates.filter(
        pl.col("source").is_in(GAUSSIAN_FAMILIES) & pl.col("estimator").is_in(["exact"])
    )
    if exact.is_empty() or exact["source"].n_unique() < 2:
        return []
    run_id = exact["run_id"][0]
    chart = gaussian_families_chart(
        f.mi_estimates.filter(pl.col("run_id") == run_id), f.fits, run_id=run_id
    )
    return [
        ReportSection(
            "Two Gaussian families (Fig. 3)",
            chart,
            "Exact I_BP of the sub-volume family grows as a power of L, that of the second "
            "family as log L, while both have the same two-point decay: two-point MI cannot "
            f"tell them apart (run {run_id}).",
        )
    ]


def _scored(f: ReportFrames) -> list[ReportSection]:
    bipartite = f.mi_estimates.filter(
        (pl.col("quantity") == "bipartite") & pl.col("estimator").is_in(SCORED)
    )
    sections = []
    for run_id in sorted(bipartite["run_id"].unique().to_list()):
        mine = f.mi_estimates.filter(pl.col("run_id") == run_id)
        fits = f.fits.filter(pl.col("run_id") == run_id)
        model = _model(f.runs, run_id)
        sections += [
            ReportSection(
                f"Bipartite MI of {run_id} (Fig. 2)",
                bipartite_mi_chart(mine, fits, run_id=run_id),
                f"I_BP(ℓ = L/2; L) estimated with q = {model}, with the fitted power law. A "
                "model weaker than the true distribution underestimates β (Appendix A.VI).",
            ),
            ReportSection(
                f"Estimators compared, {run_id} (Fig. A.1)",
                estimator_comparison_chart(mine, run_id=run_id),
                "direct (2-gram corrected), direct uncorrected and vCLUB on the same samples; "
                "exact values where the run knows them.",
            ),
        ]
        if mine.filter(pl.col("estimator").is_in(SCORED))["ratio"].n_unique() > 1:
            sections.append(
                ReportSection(
                    f"Ratios L/ℓ, {run_id} (Fig. A.3)",
                    ratio_chart(mine, fits, run_id=run_id),
                    "The same estimator at L/ℓ = 2, 3, 4, each with its own fitted exponent.",
                )
            )
    return sections


def _two_point(f: ReportFrames) -> list[ReportSection]:
    sections = []
    for run_id in sorted(f.two_point["run_id"].unique().to_list()) if f.two_point.height else []:
        fits = f.fits.filter((pl.col("run_id") == run_id) & (pl.col("quantity") == "two_point"))
        sections.append(
            ReportSection(
                f"Two-point MI of {run_id} (Fig. 2, A.4)",
                two_point_mi_chart(f.two_point.filter(pl.col("run_id") == run_id), fits),
                "Grassberger I_d with the shuffle baseline (the estimator's bias floor) and the "
                "fit I_d = A·d^−α + C (Eq. A.18).",
            )
        )
    return sections


def _positions(f: ReportFrames) -> list[ReportSection]:
    sections = []
    curves = f.training_curves
    if curves.height and curves["kl"].drop_nulls().len():
        gaussian = curves.filter(pl.col("kl").is_not_null()).rename({"arch": "architecture"})
        sections.append(
            ReportSection(
                "Position-wise KL of trained models (Fig. 4 c–d)",
                position_metric_chart(gaussian, metric="kl"),
                "KL(p‖q) per position of each model trained on the sub-volume Gaussian, against "
                "the exact conditionals (Eq. E.36), nats per token averaged over its copies; "
                "the baseline is the exact unconditional q.",
            )
        )
    if curves.height and curves.filter(pl.col("data") == "text").height:
        text = curves.filter(pl.col("data") == "text").rename({"arch": "architecture"})
        sections.append(
            ReportSection(
                "Position-wise NLL of models trained on text (Fig. 5)",
                position_metric_chart(text, metric="nll"),
                "−log q per position (Eq. E.38), nats per token.",
            )
        )
    if f.position_kl.height:
        sections.append(
            ReportSection(
                "Position-wise KL divergence (Fig. 4, 5)",
                position_metric_chart(f.position_kl, metric="kl"),
                "KL(p‖q) per position against the exact distribution, nats per token.",
            )
        )
    if f.position_nll.height:
        sections.append(
            ReportSection(
                "Position-wise NLL",
                position_metric_chart(f.position_nll, metric="nll"),
                "−log q per position, nats per token (a differential cross entropy for "
                "continuous tokens).",
            )
        )
    if f.training_average_kl.height:
        averages = f.training_average_kl.rename({"arch": "architecture"})
        sections.append(
            ReportSection(
                "Average KL vs training length (Fig. 4 a–b)",
                average_metric_chart(averages.filter(pl.col("architecture") != "baseline"),
                                     metric="kl"),
                "The position average of the KL (Eq. E.37) of each model at each training "
                "length, nats per token averaged over its copies.",
            )
        )  # fmt: skip
    return sections


def _l2m(f: ReportFrames) -> list[ReportSection]:
    required = f.mi_estimates.filter(
        (pl.col("quantity") == "bipartite") & (pl.col("source") == "gaussian_subvolume")
        & (pl.col("estimator") == "exact")
    )  # fmt: skip
    if not f.history_states.height or required.is_empty():
        return []
    return [
        ReportSection(
            "The L²M condition (Section 5)",
            l2m_chart(f.history_states, required),
            "History-state size dim(z_L/2) of each architecture against the exact bipartite "
            "MI of the sub-volume Gaussian (per copy): GPT-2's KV cache grows with L and keeps "
            "up; the SSM states are fixed (Theorem 5.2).",
        )
    ]


def _model(runs: pl.DataFrame, run_id: str) -> str:
    row = runs.filter(pl.col("run_id") == run_id)
    return (row["model"][0] if row.height and row["model"][0] else None) or "the run's model"
