"""β with a bootstrap over the WHOLE bipartite curve: the interval β is reported with.

Every point I(L) of a scored run's curve is a mean over the same samples, so the points are
correlated; a fit that treats them as independent misstates β's interval. Here each replicate
resamples the samples (with replacement) — whole *documents* when samples share one, since
samples of one book share its topic — recomputes every point from the per-sample values
(``queries/staging/stg_bipartite_per_sample.sql``), adds one draw of the term common to every
point (4/5·se(Ĥ_G) for the corrected direct estimator), and refits log I on log L exactly as
the reported fit does (OLS by default; WLS with the original points' weights (I/σ)² when
``weighted``). The percentile interval of those β, its distances from β̂ widened by
t(1 − α/2; n − 1)/z(1 − α/2)·√(n/(n − 1)) for n resampled units (``few_units_widening``), is
β's primary interval.

Which β it is about: the least-squares slope of log I on log L over the measured L (the fit's
own target), so the exact β of a known source is the same fit of the exact curve at the same L
(docs/estimators.md, "Which β an interval is about"). Curvature of log I is part of that target,
not an error of it.

Replicates whose mean is ≤ 0 at some L have no log and no β. They are never dropped silently:
``bootstrap_nonpositive`` counts them, and the interval treats each as lying beyond BOTH ends
(conservative), so k of B of them widen each end by k replicates, and an end with
k ≥ (α/2)·B is open (NaN; stored as NULL with the warning ``open interval``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
from scipy.stats import norm
from scipy.stats import t as t_dist

SERIES = ["run_id", "estimator", "ratio"]
COLUMNS = {"run_id": pl.String, "estimator": pl.String, "ratio": pl.Int32,
           "bootstrap_exponent_lo": pl.Float64, "bootstrap_exponent_hi": pl.Float64,
           "bootstrap_exponent_sd": pl.Float64, "bootstrap_replicates": pl.Int64,
           "bootstrap_nonpositive": pl.Int64, "bootstrap_samples": pl.Int64,
           "bootstrap_documents": pl.Int64, "bootstrap_weighted": pl.Boolean,
           "bootstrap_widening": pl.Float64}  # fmt: skip
# the columns of the sample -> document frame (queries/staging/stg_sample_documents.sql)
DOCUMENT_COLUMNS = ["run_id", "sample_id", "doc_id"]
# fewer documents than this and a bootstrap over them is flagged: with a handful of independent
# units the 95 % rests on the t widening and near-normal document means (the embedded books
# are 4 documents)
MIN_DOCUMENTS = 10


def curve_bootstrap_beta(
    per_sample: pl.DataFrame,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    weighted: bool = False,
    documents: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Percentile interval of β per (run_id, estimator, ratio), columns ``COLUMNS``.

    per_sample: rows of stg_bipartite_per_sample (run_id, estimator, length, ratio, sample_id,
    sample_value, common_stderr; nats). Only samples present at every L of a series are used.
    documents: rows (run_id, sample_id, doc_id); a run listed there is resampled by whole
    documents (``bootstrap_documents`` = their number), any other run by samples (NULL).
    weighted: refit with weights (I/σ)² of the original points (else OLS, the reported fit).
    The percentile ends are moved away from β̂ by ``bootstrap_widening`` (few_units_widening).
    bootstrap_nonpositive: replicates with a mean ≤ 0 at some L, counted beyond both ends.
    """
    out = []
    if n_boot < 1 or per_sample.is_empty():
        return pl.DataFrame(schema=COLUMNS)
    doc_of = _documents_by_run(documents)
    rng = np.random.default_rng(seed)
    # a fixed order of series and samples, so the same seed gives the same interval whatever
    # order the SQL returned the rows in
    per_sample = per_sample.sort([*SERIES, "sample_id", "length"], nulls_last=True)
    for key, series in per_sample.group_by(SERIES, maintain_order=True):
        wide = series.pivot(on="length", index="sample_id", values="sample_value").drop_nulls()
        lengths = sorted(int(c) for c in wide.columns if c != "sample_id")
        if len(lengths) < 3 or wide.height < 2:
            continue
        values = wide.select([str(n) for n in lengths]).to_numpy()  # (S, P)
        cluster, n_docs = _clusters(wide["sample_id"].to_numpy(), doc_of.get(key[0]))
        means = resampled_means(values, cluster, n_boot, rng)  # (B, P)
        common = series["common_stderr"].drop_nulls()
        if common.len():
            means = means + rng.normal(0.0, float(common[0]), size=(n_boot, 1))
        betas = _slopes(np.log(lengths), means, values, weighted)
        beta_hat = _slopes(np.log(lengths), values.mean(axis=0)[None, :], values, weighted)[0]
        widening = few_units_widening(n_docs or values.shape[0], alpha)
        lo, hi = (beta_hat + widening * (end - beta_hat)
                  for end in conservative_percentiles(betas, alpha))  # fmt: skip
        finite = betas[np.isfinite(betas)]
        out.append({
            **dict(zip(SERIES, key, strict=True)), "bootstrap_exponent_lo": lo,
            "bootstrap_exponent_hi": hi,
            "bootstrap_exponent_sd": finite.std(ddof=1) if finite.size > 1 else math.nan,
            "bootstrap_replicates": n_boot, "bootstrap_nonpositive": n_boot - finite.size,
            "bootstrap_samples": values.shape[0],
            "bootstrap_documents": n_docs, "bootstrap_weighted": weighted,
            "bootstrap_widening": widening,
        })  # fmt: skip
    return pl.DataFrame(out, schema=COLUMNS)


def resampled_means(
    values: np.ndarray, cluster: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Curve means (B, P) of ``n_boot`` cluster-bootstrap replicates of values (S, P), nats.

    cluster (S,): each sample's cluster 0..D−1; a replicate draws D clusters with replacement
    and averages every sample of the drawn clusters (a cluster drawn twice counts twice).
    """
    n_clusters = int(cluster.max()) + 1
    sums = np.zeros((n_clusters, values.shape[1]))
    np.add.at(sums, cluster, values)
    sizes = np.bincount(cluster, minlength=n_clusters).astype(float)  # (D,)
    draws = rng.multinomial(n_clusters, np.full(n_clusters, 1 / n_clusters), size=n_boot)
    return (draws @ sums) / (draws @ sizes)[:, None]


def few_units_widening(n_units: int, alpha: float) -> float:
    """Factor on the percentile interval's distances from β̂ for n resampled units (documents,
    or samples): t(1 − α/2; n − 1)/z(1 − α/2)·√(n/(n − 1)). The bootstrap's variance is the
    plug-in one, (n − 1)/n of the unbiased, and with few units its own noise calls for t's
    tails (the few-cluster t(G − 1) rule). 1.009 at 200 samples, 1.06 at 32, 1.10 at 20
    documents, 1.87 at 4."""
    if n_units < 2:
        return math.nan
    q = 1 - alpha / 2
    return float(t_dist.ppf(q, n_units - 1) / norm.ppf(q) * math.sqrt(n_units / (n_units - 1)))


def conservative_percentiles(betas: np.ndarray, alpha: float) -> tuple[float, float]:
    """Percentile interval (α/2, 1 − α/2) of replicates (B,), counting each non-finite one
    (no β: a mean ≤ 0) as lying beyond BOTH ends; an end reached by them is NaN (open)."""
    n_boot = betas.size
    finite = np.sort(betas[np.isfinite(betas)])
    missing = n_boot - finite.size
    tail = int(math.floor(alpha / 2 * n_boot))  # replicates allowed beyond each end
    if finite.size == 0 or missing > tail:
        return math.nan, math.nan
    if missing == 0:
        lo, hi = np.percentile(finite, [50 * alpha, 100 - 50 * alpha])
        return float(lo), float(hi)
    # all B replicates ranked, the missing ones placed below for lo and above for hi
    return float(finite[tail - missing]), float(finite[finite.size - 1 - (tail - missing)])


def _slopes(log_x: np.ndarray, means: np.ndarray, values: np.ndarray, weighted: bool):
    """Slope of log(mean) on log x per replicate (B,); NaN where a replicate mean is ≤ 0.
    Weights (I/σ)² of the original points when ``weighted`` (as fits.power's WLS), else 1."""
    w = np.ones(log_x.size)
    if weighted:
        mean = values.mean(axis=0)
        sigma = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])
        w = np.where((mean > 0) & (sigma > 0), (mean / np.where(sigma > 0, sigma, 1)) ** 2, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_y = np.log(np.where(means > 0, means, np.nan))  # (B, P)
    xm = np.sum(w * log_x) / w.sum()
    ym = np.sum(w * log_y, axis=1) / w.sum()
    dx = log_x - xm
    return np.sum(w * dx * (log_y - ym[:, None]), axis=1) / np.sum(w * dx * dx)


def _documents_by_run(documents: pl.DataFrame | None) -> dict[str, dict[int, int]]:
    """{run_id: {sample_id: doc_id}} from rows of ``DOCUMENT_COLUMNS`` (None: no documents)."""
    if documents is None or documents.is_empty():
        return {}
    found: dict[str, dict[int, int]] = {}
    for run_id, sample_id, doc_id in documents.select(DOCUMENT_COLUMNS).iter_rows():
        if doc_id is not None:
            found.setdefault(run_id, {})[int(sample_id)] = int(doc_id)
    return found


def _clusters(
    sample_ids: np.ndarray, doc_of: dict[int, int] | None
) -> tuple[np.ndarray, int | None]:
    """Cluster index (S,) of each sample and the number of documents (None: every sample its
    own cluster). A sample without a known document is a cluster of its own."""
    if not doc_of:
        return np.arange(sample_ids.size), None
    labels = [doc_of.get(int(s), ("sample", int(s))) for s in sample_ids]
    index = {lab: i for i, lab in enumerate(dict.fromkeys(labels))}
    return np.array([index[lab] for lab in labels]), len(index)


def with_curve_bootstrap(rows: pl.DataFrame, boot: pl.DataFrame) -> pl.DataFrame:
    """``fits`` rows with each bipartite power-law row's curve bootstrap as its interval.

    exponent_lo/hi become the bootstrap interval (NULL: open); the regression's own t-interval
    moves to ``detail`` (t_exponent_lo/hi), beside bootstrap_* and ``interval`` (what the
    interval is); a replicate without β adds a warning, an open end ``open interval``, fewer
    than ``MIN_DOCUMENTS`` documents a warning that the interval rests on too few units.
    """
    if boot.is_empty() or rows.is_empty():
        return rows
    found = {(r["run_id"], r["estimator"], r["ratio"]): r for r in boot.iter_rows(named=True)}
    out = []
    for r in rows.iter_rows(named=True):
        extra = found.get((r["run_id"], r["estimator"], r["ratio"]))
        if r["law"] == "power" and r["quantity"] == "bipartite" and extra is not None:
            r = _bootstrap_row(r, extra)
        out.append(r)
    return pl.DataFrame(out, schema=rows.schema, orient="row")


def _bootstrap_row(row: dict, boot: dict) -> dict:
    detail = json.loads(row["detail"] or "{}")
    unit = "documents" if boot["bootstrap_documents"] is not None else "samples"
    detail |= {k: _finite_or_none(v) for k, v in boot.items() if k.startswith("bootstrap_")}
    detail |= {"t_exponent_lo": row["exponent_lo"], "t_exponent_hi": row["exponent_hi"],
               "interval": f"curve bootstrap: {unit} resampled, every point recomputed, "
               "refitted; percentile, widened by t(n − 1) (bootstrap_widening)"}  # fmt: skip
    lo, hi = (_finite_or_none(boot[k]) for k in ("bootstrap_exponent_lo", "bootstrap_exponent_hi"))
    warnings = list(row.get("warnings") or [])
    if boot["bootstrap_nonpositive"]:
        warnings.append(
            f"{boot['bootstrap_nonpositive']} of {boot['bootstrap_replicates']} bootstrap "
            "replicates have I <= 0 at some L (counted beyond both interval ends)"
        )
    docs = boot["bootstrap_documents"]
    if docs is not None and docs < MIN_DOCUMENTS:
        warnings.append(
            f"only {docs} documents: the interval rests on {docs} independent units "
            f"(< {MIN_DOCUMENTS}); widened by t({docs - 1}), it trusts their means to be "
            "near normal"
        )
    if (lo is None or hi is None) and "open interval" not in warnings:
        warnings.append("open interval")
    return {**row, "exponent_lo": lo, "exponent_hi": hi, "warnings": warnings,
            "detail": json.dumps(detail, default=float)}  # fmt: skip


def _finite_or_none(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v
