"""β's 95 % intervals on the sub-volume Gaussian oracle, at the main job's settings.

Per seed and sample count (200, and 32): the oracle (q = p) scores fresh samples with the
library's scoring (``scoring.driver.score_batch``, rows kept in memory), the warehouse's SQL
computes the per-sample terms and the curve (``stg_bipartite_per_sample``,
``queries/bipartite_mi.sql`` over ``frames_connection``), and β is fitted exactly as
``pipelines.fit_exponents`` does (``fit_mi_series`` then ``curve_bootstrap_beta`` with its
default 200 replicates). Each interval is checked against the exact β of the same L: the OLS
slope of the exact log I (``exact`` for direct_uncorrected, ``exact_vclub`` for vCLUB, its
limit when q = p) at the same L — the target of the reported fit (docs/estimators.md).

Intervals, per estimator and ratio L/ℓ (3 points each: ℓ = 4, 16, 64):
* ``curve bootstrap`` — the reported interval: OLS β, samples resampled (percentile);
* ``t-interval`` — the OLS regression's own interval (the row's detail);
* ``t-interval, WLS`` and ``curve bootstrap, WLS`` — the report before (WLS, weights (I/σ)²),
  against the same OLS target, as the issue compared them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import polars as pl

from benchmarks.calibration.common import coverage_row
from l2m_analysis.estimators.bipartite import RATIOS
from l2m_analysis.fits import fit_power_law
from l2m_analysis.fits.curve_bootstrap import curve_bootstrap_beta, with_curve_bootstrap
from l2m_analysis.fits.series import fit_mi_series
from l2m_analysis.gaussian.construction import family_source
from l2m_analysis.gaussian.curves import exact_window_estimates
from l2m_analysis.gaussian.sampling import PAPER_COPIES, GaussianSampleSource
from l2m_analysis.scoring.driver import batch_ranges, check_partners, score_batch
from l2m_analysis.scoring.oracle import GaussianOracle
from l2m_analysis.scoring.plan import ScoringPlan, derangement
from l2m_analysis.sql import read_query, run_query
from l2m_analysis.warehouse.memory import frames_connection

STUDY = "beta"
FAMILY, LAYERS, SPLITS = "subvolume", 4, (4, 16, 64)  # pipelines.run_all: L = 256
SAMPLE_COUNTS = (200, 32)
N_BOOT = 200  # pipelines.fit_exponents --bootstrap default
TARGETS = {"direct_uncorrected": "exact", "vclub": "exact_vclub"}
RUN = "calibration"
SOURCE = family_source(FAMILY, PAPER_COPIES)
PLANTED_BETA, PLANTED_TILT = 0.7, 0.1  # the planted clustered curves (planted_documents)
INTERVALS = ("curve bootstrap", "t-interval", "t-interval, WLS (before)",
             "curve bootstrap, WLS (before)")  # fmt: skip


def oracle_scores(oracle: GaussianOracle, n_samples: int, seed: int) -> pl.DataFrame:
    """token_logprobs rows of one oracle run (score_oracle's plan and partners), in memory."""
    source = GaussianSampleSource(oracle.conditionals.model, seed, oracle.copies)
    plan = ScoringPlan(n_samples, SPLITS, batch_size=n_samples, ratios=RATIOS)
    borrowers = check_partners(plan, derangement(np.arange(n_samples), seed))
    frames: list[pl.DataFrame] = []

    def keep(_key: str, frame: pl.DataFrame) -> bool:
        frames.append(frame)
        return True

    for start, stop in batch_ranges(plan):
        score_batch(keep, set(), oracle, source, plan, borrowers, start, stop)
    return pl.concat(frames).with_columns(run_id=pl.lit(RUN))


def replicate(oracle: GaussianOracle, exact: pl.DataFrame, n_samples: int, seed: int) -> dict:
    """{(estimator, ratio): {interval: (β̂, lo, hi)}, ("exact", estimator, ratio): β} of one run."""
    runs = pl.DataFrame({"run_id": [RUN], "config": [json.dumps({"ratios": list(RATIOS)})]})
    scores = oracle_scores(oracle, n_samples, seed)
    con = frames_connection({"token_logprobs": scores, "runs": runs})  # as score_oracle records
    per_sample = pl.from_arrow(con.sql(read_query("staging/stg_bipartite_per_sample")).arrow())
    curve = run_query(con, "bipartite_mi").with_columns(source=pl.lit(SOURCE))
    fitted = fit_mi_series(pl.concat([curve, exact], how="diagonal_relaxed"), n_boot=0)
    boot = curve_bootstrap_beta(per_sample, n_boot=N_BOOT)
    rows = with_curve_bootstrap(fitted.rows, boot).filter(law="power")
    old_boot = curve_bootstrap_beta(per_sample, n_boot=N_BOOT, weighted=True)
    out: dict = {}
    for r in rows.iter_rows(named=True):
        key = (r["estimator"], r["ratio"])
        if r["estimator"] in TARGETS.values():
            out[("exact", *key)] = r["exponent"]
            continue
        detail = pl.Series([r["detail"]]).str.json_decode().item()
        points = curve.filter(estimator=r["estimator"], ratio=r["ratio"]).sort("length")
        wls = fit_power_law(points["length"], points["value"], points["stderr"])
        old = old_boot.filter(estimator=r["estimator"], ratio=r["ratio"]).row(0, named=True)
        out[key] = {
            INTERVALS[0]: (r["exponent"], r["exponent_lo"], r["exponent_hi"]),
            INTERVALS[1]: (r["exponent"], detail["t_exponent_lo"], detail["t_exponent_hi"]),
            INTERVALS[2]: (wls.exponent, wls.exponent_lo, wls.exponent_hi),
            INTERVALS[3]: (
                wls.exponent,
                old["bootstrap_exponent_lo"],
                old["bootstrap_exponent_hi"],
            ),  # fmt: skip
            "nonpositive": detail["bootstrap_nonpositive"],
        }
    return out


def _seed_runs(seeds: int, quick: bool) -> Iterator[tuple[int, int, dict]]:
    oracle = GaussianOracle(FAMILY, LAYERS, PAPER_COPIES)
    exact = exact_window_estimates(FAMILY, LAYERS, SPLITS, RATIOS, copies=PAPER_COPIES)
    exact = exact.with_columns(run_id=pl.lit(RUN))
    for n_samples in SAMPLE_COUNTS[1:] if quick else SAMPLE_COUNTS:
        for seed in range(seeds):
            yield n_samples, seed, replicate(oracle, exact, n_samples, 1000 * n_samples + seed)


def planted_documents(seed: int, docs: int, per_doc: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """stg_bipartite_per_sample rows (one series) and the sample -> document frame of a planted
    curve whose population mean is exactly A·L^β (so its OLS β is ``PLANTED_BETA``): each
    document tilts the log-log slope of all its samples alike (samples of one book share its
    topic), each sample adds 2 % noise."""
    rng = np.random.default_rng([seed, docs, per_doc])
    lengths = 4 * 2 ** np.arange(6)
    centred = np.log(lengths) - np.log(lengths).mean()
    tilt = np.repeat(rng.normal(0, PLANTED_TILT, docs), per_doc)[:, None] * centred
    noise = rng.normal(0, 0.02, (docs * per_doc, lengths.size))
    values = 2.0 * lengths**PLANTED_BETA * (1 + tilt + noise)  # (S, P), nats
    n = docs * per_doc
    per_sample = pl.DataFrame({
        "run_id": RUN, "estimator": "planted", "ratio": 2, "length": np.tile(lengths, n),
        "split_at": np.tile(lengths // 2, n), "sample_id": np.repeat(np.arange(n), lengths.size),
        "sample_value": values.reshape(-1), "common_stderr": None,
    }).cast({"ratio": pl.Int32, "common_stderr": pl.Float64})  # fmt: skip
    documents = pl.DataFrame(
        {"run_id": RUN, "sample_id": np.arange(n), "doc_id": np.repeat(np.arange(docs), per_doc)}
    )
    return per_sample, documents


def planted_rows(seeds: int) -> list[dict]:
    """Coverage of the curve bootstrap over documents, and over samples (clustering ignored),
    on planted curves of 20 documents × 5 samples and of 4 × 8 (the main job's 32 text samples
    come from 4 books)."""
    rows = []
    for docs, per_doc in ((20, 5), (4, 8)):
        found: dict[str, list] = {"documents resampled": [], "samples resampled": []}
        for seed in range(seeds):
            per_sample, documents = planted_documents(seed, docs, per_doc)
            for unit, frame in (("documents resampled", documents), ("samples resampled", None)):
                r = curve_bootstrap_beta(per_sample, n_boot=N_BOOT, documents=frame).row(
                    0, named=True
                )
                found[unit].append((r["bootstrap_exponent_lo"], r["bootstrap_exponent_hi"]))
        mean = [planted_documents(s, docs, per_doc)[0] for s in range(seeds)]
        betas = [_ols_beta(m) for m in mean]
        for unit, ends in found.items():
            ends_arr = np.array(ends, dtype=float)
            covered = (ends_arr[:, 0] <= PLANTED_BETA) & (PLANTED_BETA <= ends_arr[:, 1])
            rows.append(coverage_row(
                STUDY, f"β, curve bootstrap, {unit}",
                f"planted per-sample curve, {docs} documents × {per_doc} samples, L = 4 … 128",
                "β of the population mean A·L^β", PLANTED_BETA, betas, covered,
                f"mean width {np.nanmean(ends_arr[:, 1] - ends_arr[:, 0]):.3g}",
            ))  # fmt: skip
    return rows


def _ols_beta(per_sample: pl.DataFrame) -> float:
    """OLS slope of log(mean over samples) on log L of one planted series."""
    curve = per_sample.group_by("length").agg(pl.col("sample_value").mean()).sort("length")
    return float(np.polyfit(np.log(curve["length"]), np.log(curve["sample_value"]), 1)[0])


def run(seeds: int, quick: bool) -> list[dict]:
    """Coverage rows (``common.ROW_KEYS``) per interval × estimator × ratio × sample count, then
    the planted document-clustered curves."""
    seeds = min(seeds, 4) if quick else seeds
    runs: dict[int, list[dict]] = {}
    for n_samples, _, found in _seed_runs(seeds, quick):
        runs.setdefault(n_samples, []).append(found)
    rows = []
    for n_samples, found in runs.items():
        for estimator, target in TARGETS.items():
            for ratio in RATIOS:
                exact = found[0][("exact", target, ratio)]
                per_seed = [f[(estimator, ratio)] for f in found]
                lengths = ", ".join(str(ratio * s) for s in SPLITS)
                for interval in INTERVALS:
                    got = np.array([p[interval] for p in per_seed], dtype=float)  # (seeds, 3)
                    covered = (got[:, 1] <= exact) & (exact <= got[:, 2])  # NaN end: not covered
                    width = np.nanmean(got[:, 2] - got[:, 1])
                    nonpos = sum(p["nonpositive"] for p in per_seed)
                    note = f"mean width {width:.3g}" + (
                        f"; {nonpos} replicates without β" if "bootstrap" in interval else ""
                    )
                    rows.append(coverage_row(
                        STUDY, f"β {estimator}, {interval}",
                        f"sub-volume Gaussian oracle (q = p), {n_samples} samples, L/ℓ = {ratio}",
                        f"OLS β of {target} at L = {lengths}", exact, got[:, 0], covered, note,
                    ))  # fmt: skip
    return rows + planted_rows(seeds)
