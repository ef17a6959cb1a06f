"""The headline panel: the paper's questions answered first, each answer with its 95 %
interval and a link to its chart. Adding an entry is one function in ``HEADLINE``.

* text β per estimator of each language-model run, q named with its caveat (Appx. A.II, A.VI),
  and for the 2-gram corrected `direct` β under each Ĥ_G(Y1, Y2) of its convergence (A.III);
* the bipartite MI each model trained here captures as q, beside the pretrained q's;
* α of each corpus's two-point MI above the shuffle baseline (else with its floor C, Eq. A.18);
* the Gaussian check: the exact β of each family (of the same L) against the one estimated from
  oracle samples;
* the L²M verdict per architecture against the exact sub-volume law (Theorems 5.2, 5.4).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import polars as pl

from l2m_analysis.charts.theme import ESTIMATOR_LABELS
from l2m_analysis.estimators.compression import ESTIMATOR as COMPRESSION
from l2m_analysis.estimators.compression import iid_baseline_summary
from l2m_analysis.fits import describe
from l2m_analysis.fits.bands import crossing
from l2m_analysis.gaussian.construction import family_source
from l2m_analysis.gaussian.sampling import PAPER_COPIES
from l2m_analysis.l2m_condition.condition import capacity
from l2m_analysis.l2m_condition.history_state import history_dim, per_token_growth
from l2m_analysis.models.presets import PRESETS
from l2m_analysis.report.frames import ReportFrames
from l2m_analysis.report.page import escape
from l2m_analysis.warehouse.schema import run_config_of

TEXT_ESTIMATORS = {
    "direct": "a weaker q underestimates β: read it as a lower bound (Appx. A.VI)",
    "direct_uncorrected": "no 2-gram correction: biased at small L",
    "vclub": "underestimates β like direct, with more bias (Appx. A.VI)",
    "compression_lzma": "model-free; compression inefficiency overestimates β (Appx. A.II)",
}
# α is read from the shuffle-subtracted curve when it was fitted (it wins on the power-law
# chain, benchmarks.calibration.alpha), else from the raw curve's bias-floor fit (Eq. A.18)
ALPHA_ESTIMATORS = ["grassberger_minus_baseline", "grassberger"]
C = 1.0  # nats per state number in Theorem 5.2: a rough effective capacity (FP32's ceiling: 22.18)
ARCHITECTURES = {"GPT-2": "gpt2-125m", "Mamba": "mamba-130m", "Mamba2": "mamba2-130m"}


@dataclass(frozen=True)
class Answer:
    """One headline row: its question (consecutive rows of one question are grouped), what it
    is about, the value with its 95 % interval, the caveat, the anchor of its chart, and for
    checks whether it passed."""

    question: str
    topic: str
    value: str
    note: str
    link: str
    ok: bool | None = None


def anchor(kind: str, key: str = "") -> str:
    """The id of a figure (and its image files): its kind and run, lower case with dashes."""
    return re.sub(r"[^a-z0-9]+", "-", f"{kind} {key}".lower()).strip("-")


def text_beta(f: ReportFrames) -> list[Answer]:
    """β of each estimator at ℓ = L/2 for every language-model run."""
    out = []
    for run in f.runs_of("llm"):
        question = f"Bipartite MI of text grows as L^β (q = {f.model(run)}; ℓ = L/2)"
        for est, caveat in TEXT_ESTIMATORS.items():
            if row := f.fit(run, est, "power", quantity="bipartite"):
                baseline = iid_baseline_summary(f.estimates(run)) if est == COMPRESSION else None
                notes = [describe.bootstrap(row), describe.h2gram(row), caveat, baseline]
                note = "; ".join(filter(None, notes))
                link = anchor("estimators" if est == "compression_lzma" else "bipartite", run)
                label, beta = ESTIMATOR_LABELS[est], describe.exponent(row)
                out.append(Answer(question, label, beta, note, link))
    return out


def trained_q(f: ReportFrames) -> list[Answer]:
    """How much of the text's I_BP each trained architecture captures as q: its vCLUB estimate
    at ℓ = L/2, L = its training length, beside each pretrained q's at the same L."""
    if not f.trained_q_runs():
        return []
    rows = f.queries["trained_q_bipartite_mi"].filter(estimator="vclub", ratio=2)
    out, question = [], "Bipartite MI of text captured with each trained model as q (vCLUB)"
    for r in rows.filter(q_kind="trained", length=pl.col("train_length")).iter_rows(named=True):
        same = rows.filter(q_kind="pretrained", length=r["length"]).iter_rows(named=True)
        beside = "; ".join(f"{p['q']}: {_pm(p)}" for p in same)
        topic = f"{r['preset']} trained at L = {r['train_length']}"
        note = f"at L = {r['length']}; {beside or 'no pretrained q at this L'}"
        out.append(Answer(question, topic, _pm(r), note, anchor("trained-q")))
    return out


def _pm(row: dict) -> str:
    return f"{row['value']:.3f} ± {1.96 * (row['stderr'] or 0):.3f} nats"


def two_point_alpha(f: ReportFrames) -> list[Answer]:
    """α of the two-point decay of every corpus run."""
    out = []
    for run in f.runs_of("corpus"):
        if row := f.fit(run, ALPHA_ESTIMATORS, "decay", None):
            note = f"C = {row['offset_c']:.3g} nats: the estimator's bias floor (Eq. A.18)"
            if row["estimator"] == "grassberger_minus_baseline":
                note = "fitted to I_d − I_d(shuffled), the curve above the bias floor"
            alpha, link = describe.exponent(row), anchor("two-point", run)
            out.append(Answer("Two-point MI of text decays as d^−α", run, alpha, note, link))
    return out


def gaussian_check(f: ReportFrames) -> list[Answer]:
    """Per Gaussian family with oracle samples (q = p): the exact law against the one fitted to
    the direct estimates at ℓ = L/2: the exact β of the same L inside the estimate's interval
    (power law), or the same law preferred (log law)."""
    out = []
    for oracle in f.runs_of("oracle"):
        run = f.runs.filter(run_id=oracle).row(0, named=True)
        source, family = run["dataset"], family_source(run_config_of(run)["family"])
        exact = f.fit(f.runs_of("gaussian_exact"), "exact", "power", source=family)
        est = f.fit(oracle, ["direct", "direct_uncorrected"], "power")
        if exact is None or est is None:
            continue
        if exact["preferred_law"] == "power":
            # the interval is about the OLS β of the same L (docs/estimators.md): the oracle
            # run's own exact rows at its windows; the whole exact curve only when they are absent
            target = f.fit(oracle, "exact", "power")
            beta = (target or exact)["exponent"]
            lo, hi = est["exponent_lo"], est["exponent_hi"]
            ok = (lo is None or lo <= beta) and (hi is None or beta <= hi)
            span = f"{exact['x_min']:,.0f} … {exact['x_max']:,.0f}"
            whole = f"{describe.exponent(exact)} over L = {span}"
            what = f"exact β of the sampled L inside the estimate's interval (exact {whole})"
            exact_text = f"exact β = {beta:.3f}" if target else f"exact {describe.exponent(exact)}"
            value = f"{exact_text} · estimated {describe.exponent(est)}"
        else:
            ok, what = est["preferred_law"] == exact["preferred_law"], "the same law preferred"
            value = f"exact: {describe.verdict(exact)} · estimated: {describe.verdict(est)}"
        note = f"oracle samples of {source} (q = p), {ESTIMATOR_LABELS[est['estimator']]}; {what}"
        question = "Gaussian check: exact vs estimated (ℓ = L/2)"
        out.append(Answer(question, family, value, note, anchor("bipartite", oracle), ok))
    return out


class Crossing(NamedTuple):
    """One model against the exact sub-volume law: dim(z_{L/2}) at L = 4096 and its growth per
    token (numbers), and L* with its 95 % interval (tokens; None: never)."""

    model: str
    law: dict
    dim_4096: int
    growth: int
    at: float | None
    lo: float | None
    hi: float | None

    def text(self) -> str:
        """'never (up to 2^200 tokens)' or 'L* ≈ 3.1e+08 [2.6e+08, 3.7e+08] tokens'."""
        if self.at is None and self.lo is None:
            return "never (up to 2^200 tokens)"
        at, lo, hi = (describe.fmt(v, ".2g", "never") for v in (self.at, self.lo, self.hi))
        return f"L* ≈ {at} [{lo}, {hi}] tokens"


def crossings(f: ReportFrames, models: Iterable[str]) -> list[Crossing]:
    """Where the exact sub-volume law, at the paper's PAPER_COPIES numbers per token (Appendix E;
    as pipelines.l2m_condition's default), c·A·L^β, and its 95 % band first exceed Theorem 5.2's
    bound C·dim(z_{L/2}) + log M (log M = C·c for c numbers), per model. MI adds over the
    independent copies, so the law of one copy is compared with the bound divided by c."""
    law = f.fit(f.runs_of("gaussian_exact"), "exact", "power", source="gaussian_subvolume")
    out = []
    for p in (PRESETS[name] for name in models if law is not None):
        bound = np.vectorize(lambda n, p=p: capacity(p, n, C, C * PAPER_COPIES) / PAPER_COPIES)
        growth = per_token_growth(p)
        out.append(Crossing(p.name, law, history_dim(p, 2048), growth, *crossing(law, bound)))
    return out


def l2m_verdicts(f: ReportFrames) -> list[Answer]:
    """Per architecture (paper sizes): does the history state keep up with I_BP ∝ L^β?"""
    out = []
    for label, r in zip(ARCHITECTURES, crossings(f, ARCHITECTURES.values()), strict=False):
        law = describe.exponent(r.law)
        question = (f"L²M condition (a bound), exact sub-volume law {law} × {PAPER_COPIES} "
                    f"numbers per token, C = {C:g} nat per number")  # fmt: skip
        value = "keeps up at every L" if r.at is None else f"fails beyond {r.text()} (bound)"
        note = f"state fixed at {r.dim_4096:,} numbers"
        if r.growth:
            note = f"KV cache grows by {r.growth:,} numbers per token, faster than L^β"
        out.append(
            Answer(question, f"{label} ({r.model})", value, note, anchor("l2m"), r.at is None)
        )
    return out


HEADLINE = (text_beta, trained_q, two_point_alpha, gaussian_check, l2m_verdicts)
MARKS = {None: "", True: '<span class="ok">✓</span> ', False: '<span class="fail">✗</span> '}


def headline_html(f: ReportFrames) -> str:
    """The panel: one header row per question, one row per answer (✓/✗ on checks)."""
    rows, question = [], None
    for a in (a for entry in HEADLINE for a in entry(f)):
        if a.question != question:
            question = a.question
            rows.append(f'<tr><th colspan="4">{escape(question)}</th></tr>')
        value = f'<td class="value">{MARKS[a.ok]}{escape(a.value)}</td>'
        note, link = escape(a.note), f'<a href="#{escape(a.link)}">chart</a>'
        rows.append(
            f'<tr><td>{escape(a.topic)}</td>{value}<td class="note">{note}</td><td>{link}</td></tr>'
        )
    body = "".join(rows) or "<tr><td>nothing fitted yet: python -m pipelines.run_all</td></tr>"
    heading = "<h2>Answers (95 % intervals, nats)</h2>"
    return f'<section id="answers">{heading}<table class="answers">{body}</table></section>'
