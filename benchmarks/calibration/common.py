"""What the calibration studies share: the row layout, binomial intervals, the table printer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import beta as beta_dist

# One row per (study, estimator, source): exact answer, the estimates' mean and bias (nats or
# exponent units), and for interval studies the fraction of nominal-95 % intervals that contain
# the exact value, with its binomial 95 % interval.
ROW_KEYS = (
    "study", "estimator", "source", "target", "exact", "mean_estimate", "bias", "bias_se",
    "coverage", "coverage_lo", "coverage_hi", "n", "note",
)  # fmt: skip


def binomial_ci(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion hits/n (exact, conservative); (nan, nan) if n=0."""
    if n <= 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    lo = 0.0 if hits == 0 else float(beta_dist.ppf(a, hits, n - hits + 1))
    hi = 1.0 if hits == n else float(beta_dist.ppf(1 - a, hits + 1, n - hits))
    return lo, hi


def coverage_row(
    study: str,
    estimator: str,
    source: str,
    target: str,
    exact: float,
    estimates: Sequence[float],
    covered: Sequence[bool] | None,
    note: str = "",
) -> dict:
    """A row from per-replicate estimates (n,) and, for an interval study, whether each
    replicate's interval contained ``exact`` (n,)."""
    est = np.asarray(estimates, dtype=float)
    n = int(est.size)
    mean = float(est.mean()) if n else math.nan
    se = float(est.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    row = dict.fromkeys(ROW_KEYS)
    row.update(study=study, estimator=estimator, source=source, target=target, exact=exact,
               mean_estimate=mean, bias=mean - exact, bias_se=se, n=n, note=note)  # fmt: skip
    if covered is not None:
        hits = int(np.sum(covered))
        row["coverage"] = hits / len(covered) if len(covered) else math.nan
        row["coverage_lo"], row["coverage_hi"] = binomial_ci(hits, len(covered))
    return row


def nominal_within(row: dict, level: float = 0.95) -> bool | None:
    """Whether ``level`` lies inside the row's binomial CI of coverage (None: no interval)."""
    if row.get("coverage") is None:
        return None
    return row["coverage_lo"] <= level <= row["coverage_hi"]


def _fmt(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def markdown_rows(rows: Sequence[dict], command: str) -> str:
    """The rows as docs/validation.md table rows (estimator, source, target, exact, estimate,
    bias ± se, coverage [CI], n, command)."""
    lines = []
    for r in rows:
        cov = "–"
        if r.get("coverage") is not None:
            cov = f"{r['coverage']:.3f} [{r['coverage_lo']:.3f}, {r['coverage_hi']:.3f}]"
        lines.append(
            f"| {r['estimator']} | {r['source']} | {r['target']} | {_fmt(r['exact'])} | "
            f"{_fmt(r['mean_estimate'])} | {_fmt(r['bias'])} ± {_fmt(r['bias_se'])} | {cov} | "
            f"{r['n']} | `{command} --study {r['study']}` |"
        )
    return "\n".join(lines)
