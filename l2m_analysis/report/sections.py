"""The report's sections, one per paper question, and the charts each holds, in page order.

Adding a section is one entry in ``SECTIONS``; adding a chart is one entry in ``FIGURES``
(its section, its kind, heading, caption, what it is drawn for and how). A figure whose data
the warehouse does not hold is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import altair as alt
import polars as pl

from l2m_analysis import charts
from l2m_analysis.fits import describe
from l2m_analysis.report.frames import ReportFrames
from l2m_analysis.report.headline import TEXT_ESTIMATORS, anchor, crossings
from l2m_analysis.report.page import Figure


@dataclass(frozen=True)
class Section:
    """One paper question: anchor, heading, the question in a sentence, and its compact table
    (frames -> a frame of display strings, or None)."""

    anchor: str
    title: str
    question: str
    table: Callable[[ReportFrames], pl.DataFrame | None]


@dataclass(frozen=True)
class Chart:
    """One kind of figure: drawn in ``section`` once per key of ``keys`` (a run id, or '' for a
    single figure) by ``draw`` (None: nothing to draw); ``title`` and ``caption`` may name the
    {key} and its run's {model}."""

    section: str
    kind: str
    title: str
    caption: str
    keys: Callable[[ReportFrames], Iterable[str]]
    draw: Callable[[ReportFrames, str], alt.TopLevelMixin | None]


def _runs(kind: str) -> Callable[[ReportFrames], list[str]]:
    return lambda f: f.runs_of(kind)


def _one(f: ReportFrames) -> list[str]:
    return [""]


def _when(frame: pl.DataFrame, build: Callable, *args, **kwargs):
    """``build(frame, *args, **kwargs)``, or None when ``frame`` has no rows."""
    return build(frame, *args, **kwargs) if frame.height else None


def _scored(section: str, kind: str, what: str) -> tuple[Chart, ...]:
    """Fig. 2 b–c, A.1 and A.3 of every run of ``kind`` (llm: text; oracle: Gaussian samples)."""

    def rows(f: ReportFrames, run: str) -> pl.DataFrame:
        return f.estimates(run).filter(quantity="bipartite")

    return (
        Chart(section, "bipartite", f"Bipartite MI of {what}, {{key}} (Fig. 2 b–c)",
              "I_BP(ℓ = L/2; L) estimated with q = {model}, and each estimator's stored power "
              "law with its 95 % confidence band.", _runs(kind),
              lambda f, run: _when(rows(f, run), charts.bipartite_mi_chart, f.fits)),
        Chart(section, "estimators", "Estimators compared, {key} (Fig. A.1)",
              "Every estimator on the same samples: direct (2-gram corrected for discrete "
              "tokens), uncorrected, vCLUB, lzma compression, and the exact values where the "
              "run knows them.", _runs(kind),
              lambda f, run: _when(rows(f, run), charts.estimator_comparison_chart)),
        Chart(section, "ratios", "Ratios L/ℓ, {key} (Fig. A.3)",
              "One estimator at every ratio L/ℓ, each with its own fitted exponent.", _runs(kind),
              lambda f, run: _when(rows(f, run), charts.ratio_chart, f.fits)),
    )  # fmt: skip


def _curves(f: ReportFrames, data: str, metric: str):
    rows = f.queries["training_position_curves"].filter(data=data).drop_nulls(metric)
    return _when(rows, charts.position_metric_chart, metric=metric)


def _trained_q(f: ReportFrames, _: str):
    rows = f.queries["trained_q_bipartite_mi"]
    return charts.trained_q_chart(rows) if f.trained_q_runs() else None


def _scored_only(f: ReportFrames, rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` without the evaluations of trained models (and their exact-p runs), which the
    training curves draw."""
    trained = f.runs_of("evaluation") + f.runs_of("evaluation_reference")
    return rows.filter(~pl.col("run_id").is_in(trained)) if rows.height else rows


def _l2m(f: ReportFrames, _: str):
    exact = f.mi_estimates.filter(source="gaussian_subvolume", estimator="exact")
    exact = exact.filter(run_id=exact["run_id"].min()) if exact.height else exact
    return _when(exact, lambda rows: charts.l2m_chart(f.history_states, rows, f.capacities))


FIGURES: tuple[Chart, ...] = (
    *_scored("fig2", "llm", "text"),
    Chart("fig2", "trained-q", "Bipartite MI with each trained architecture as q",
          "Each text model trained here scored the books as q (score_logprobs --model "
          "train:<run>, on samples it never trained on), beside the pretrained q: a weaker q "
          "captures less of the text's I_BP; a q whose state cannot grow (Mamba, Mamba2) "
          "should flatten as L grows once its state is full (Section 5).", _one, _trained_q),
    Chart("fig2", "two-point", "Two-point MI of {key} (Fig. 2 e–f, A.4)",
          "Grassberger I_d beside the shuffle baseline (the estimator's bias floor) and the fit "
          "I_d = A·d^−α + C (Eq. A.18).", lambda f: f.queries["two_point_mi"]["run_id"].unique(),
          lambda f, run: charts.two_point_mi_chart(f.queries["two_point_mi"].filter(run_id=run),
                                                   f.fits)),
    Chart("fig3", "families", "Two Gaussian families, {key} (Fig. 3)",
          "Exact I_BP of the sub-volume family grows as a power of L, that of the second as "
          "log L, while both have the same two-point decay: two-point MI cannot tell them "
          "apart.", _runs("gaussian_exact"),
          lambda f, run: _when(f.estimates(run), charts.gaussian_families_chart, f.fits)),
    *_scored("fig3", "oracle", "oracle samples"),
    Chart("fig45", "position-kl", "Position-wise KL of trained models (Fig. 4 c–d)",
          "KL(p‖q) per position against the exact conditionals (Eq. E.36) of models trained "
          "on the sub-volume Gaussian, nats per token.", _one,
          lambda f, _: _curves(f, "gaussian", "kl")),
    Chart("fig45", "position-nll", "Position-wise NLL of models trained on text (Fig. 5)",
          "−log q per position (Eq. E.38), nats per token.", _one,
          lambda f, _: _curves(f, "text", "nll")),
    Chart("fig45", "average-kl", "Average KL vs training length (Fig. 4 a–b)",
          "The position average (Eq. E.37) of each model's KL at each training length, nats "
          "per token.", _one,
          lambda f, _: _when(f.queries["training_average_kl"], charts.average_metric_chart)),
    *(Chart("fig45", f"scored-{m}", f"Position-wise {m.upper()} of scored runs",
            "Per position of whole samples, nats per token (for continuous tokens NLL is a "
            "differential cross entropy).", _one,
            lambda f, _, m=m: _when(_scored_only(f, f.queries[f"position_{m}"]),
                                    charts.position_metric_chart, metric=m))
      for m in ("nll", "kl")),
    Chart("l2m-condition", "l2m", "History state against the required bipartite MI (Section 5)",
          "dim(z_L/2) of each architecture against the exact bipartite MI of the sub-volume "
          "Gaussian (one number per token): GPT-2's KV cache grows with L and keeps up; the SSM "
          "states are fixed (Theorem 5.2, a bound: C nats per number is unknown). Panel (c): "
          "the exact MI the best linear summary of D numbers can hold, beside C·D + log M.",
          _one, _l2m),
)  # fmt: skip


def figures(f: ReportFrames, section: str) -> list[Figure]:
    """The figures of ``section`` that the frames can draw: grouped by key (run) in the order
    the keys first appear, in ``FIGURES`` order within a key."""
    made: dict[str, list[Figure]] = {}
    for c in (c for c in FIGURES if c.section == section):
        for key in c.keys(f):
            fill = {"key": key, "model": f.model(key)}
            if (chart := c.draw(f, key)) is not None:
                fig = Figure(
                    anchor(c.kind, key), c.title.format(**fill), chart, c.caption.format(**fill)
                )
                made.setdefault(key, []).append(fig)
    return [fig for figs in made.values() for fig in figs]


def _frame(rows: Iterable[dict]) -> pl.DataFrame | None:
    rows = list(rows)
    return pl.DataFrame(rows) if rows else None


def fits_table(*picks: tuple) -> Callable[[ReportFrames], pl.DataFrame | None]:
    """A compact table of fits: for each (run kind, estimators, law, ratio, keys) of ``picks``
    the fit of every such run and estimator that exists, as display strings: series, exponent
    with its 95 % interval, verdict, curve bootstrap and warnings."""

    def table(f: ReportFrames) -> pl.DataFrame | None:
        rows = (f.fit(run, e, law, ratio, **keys) for kind, estimators, law, ratio, keys in picks
                for run in f.runs_of(kind) for e in estimators)  # fmt: skip
        return _frame(
            {"series": " · ".join([r["run_id"], r["source"], r["estimator"]]
                                  + [f"L/ℓ = {r['ratio']}"] * bool(r["ratio"])),
             "exponent (95 %)": describe.exponent(r), "verdict": describe.verdict(r),
             "curve bootstrap": describe.bootstrap(r) or "", "warnings": describe.warning_text(r)}
            for r in rows if r is not None
        )  # fmt: skip

    return table


def _models_table(f: ReportFrames) -> pl.DataFrame | None:
    """Average KL (Gaussian) and NLL (text) per trained model with 95 % intervals."""
    averages = (("Gaussian", "kl", "training_average_kl"), ("text", "nll", "training_average_nll"))
    return _frame(
        {"model": r["model"], "data": data, "L": str(r["train_length"]),
         "average, nats/token (95 %)": f"{m.upper()} = {r[f'avg_{m}']:.4f} ± "
         f"{1.96 * r[f'avg_{m}_stderr']:.4f}",
         "unconditional baseline": describe.fmt(r.get("baseline_avg_kl"), ".4f", "")}
        for data, m, query in averages for r in f.queries[query].iter_rows(named=True)
    )  # fmt: skip


def _l2m_table(f: ReportFrames) -> pl.DataFrame | None:
    return _frame(
        {"model": r.model, "dim z_L/2 at L = 4096": f"{r.dim_4096:,}",
         "growth per token": f"{r.growth:,}",
         "bound L*: fails beyond (C = 1 nat per number)": r.text()}
        for r in crossings(f, f.history_states["model"].unique(maintain_order=True))
    )  # fmt: skip


FAMILIES = ("gaussian_subvolume", "gaussian_log")
SECTIONS = (
    Section("fig2", "Fig. 2 — how does the mutual information of text scale?",
            "Bipartite MI between adjacent blocks grows as L^β; two-point MI between tokens d "
            "apart decays as d^−α: two different quantities of the same text (Section 4).",
            fits_table(("llm", TEXT_ESTIMATORS, "power", 2, {}),
                       ("corpus", ["grassberger_minus_baseline", "grassberger"], "decay",
                        None, {}))),
    Section("fig3", "Fig. 3 — exact ground truth: do the estimators recover it?",
            "Two Gaussian families with the same two-point decay but different bipartite "
            "scaling, exact up to L = 65 536, and oracle samples scored with the true density "
            "(Section 4.4, Appendix B).",
            fits_table(*(("gaussian_exact", ["exact"], law, ratio, {"source": s})
                         for law, ratio in (("power", 2), ("decay", None)) for s in FAMILIES),
                       ("oracle", ["exact", "direct", "direct_uncorrected", "vclub"], "power", 2,
                        {}))),
    Section("fig45", "Fig. 4 / 5 — do models use their context?",
            "Position-wise KL against the exact Gaussian conditionals and NLL on text, and "
            "their averages per training length (Section 6, Appendix E).", _models_table),
    Section("l2m-condition", "L²M condition — can a model's state keep up?",
            "A model captures the bipartite MI only if its history state grows at least as "
            "fast (Theorems 5.2, 5.4). L* is a bound, not a prediction: it moves with the "
            "unknown C, and a model may fail sooner.", _l2m_table),
)  # fmt: skip
