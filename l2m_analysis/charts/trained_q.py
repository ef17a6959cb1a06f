"""Bipartite MI of a text measured with each trained architecture as q, beside a pretrained q.

Input: exactly the output of ``queries/trained_q_bipartite_mi.sql`` (nats). One panel per
estimator (direct with the 2-gram correction, direct uncorrected, vCLUB): I^BP_{L/ℓ;L} against
L (log axis) at one ratio L/ℓ, one line per q with ±1.96·stderr bars; trained q solid and named
by preset and training length, pretrained ones dashed. The y axis is linear: a weak q's
estimates can be at or below 0.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from l2m_analysis.charts.common import ERRORBAR_NOTE, require, titled, tooltips, z95
from l2m_analysis.errors import InputError

FIX = "pass the output of queries/trained_q_bipartite_mi.sql unchanged"
COLUMNS = ("q", "q_kind", "preset", "train_length", "estimator", "ratio", "length", "value",
           "stderr")  # fmt: skip
ESTIMATORS = {
    "direct": "direct, 2-gram corrected (Eq. 6, A.14)",
    "direct_uncorrected": "direct, uncorrected (Eq. 6)",
    "vclub": "vCLUB (Eq. 7)",
}


def trained_q_chart(frame: pl.DataFrame, ratio: int = 2) -> alt.FacetChart:
    """I^BP against L per q and estimator at ``ratio`` = L/ℓ, from the query's output."""
    frame = require(frame, "trained_q_chart", "frame", COLUMNS, FIX)
    rows = frame.filter(
        (pl.col("ratio") == ratio) & pl.col("estimator").is_in(list(ESTIMATORS))
        & pl.col("value").is_finite()
    )  # fmt: skip
    if rows.is_empty():
        raise InputError(
            f"trained_q_chart: no bipartite estimate at L/ℓ = {ratio}",
            "score a corpus with a q (python -m pipelines.score_logprobs), then run python -m "
            "pipelines.bipartite_mi on that run; or pass another ratio",
        )
    trained = pl.col("q_kind") == "trained"
    data = rows.with_columns(
        *z95("value", "stderr"),
        series=pl.when(trained)
        .then(pl.format("{} trained at L = {}", "preset", "train_length"))
        .otherwise(pl.format("{} (pretrained)", "q")),
        panel=pl.col("estimator").replace_strict(ESTIMATORS),
    ).sort("q_kind", "series", descending=[True, False])
    x = alt.X("length:Q", title="L (tokens)", scale=alt.Scale(type="log", base=2))
    color = alt.Color("series:N", title="q", sort=data["series"].unique(maintain_order=True))
    dash = alt.StrokeDash("q_kind:N", title="q is", sort=["trained", "pretrained"])
    tips = tooltips(data, {"series": "q", "length": "L", "value": "I_BP", "stderr": "stderr",
                           "n": "samples"})  # fmt: skip
    base = alt.Chart(data)
    lines = base.mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", title=f"I_BP (nats), L/ℓ = {ratio}"), color=color,
        strokeDash=dash, tooltip=tips,
    )  # fmt: skip
    bars = base.mark_rule().encode(x=x, y="y_lo:Q", y2="y_hi:Q", color=color)
    zero = base.mark_rule(color="#999999", strokeDash=[2, 2]).encode(y=alt.datum(0))
    facets = (
        alt.layer(zero, bars, lines)
        .properties(width=220, height=220)
        .facet(column=alt.Column("panel:N", title=None, sort=list(ESTIMATORS.values())))
        .resolve_scale(y="independent")
    )
    return titled(
        facets,
        "Bipartite MI of the text with each architecture as q",
        ["a lower bound of the text's I_BP, the tighter the better q (Appendix A.VI)",
         ERRORBAR_NOTE],
    )  # fmt: skip
