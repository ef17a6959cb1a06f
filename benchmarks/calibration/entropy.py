"""Study ``entropy``: the bias of Ĥ_G(Y1, Y2) (Eq. A.12) at the books' size, and what it does to
the 2-gram corrected direct estimate (Eq. A.14), on a chain whose answer is exact.

Source: ``corpus.sparse_markov.zipf_sparse_chain`` with K = 50,000 states (Zipf base weights,
exponent 0.9, ~240 successors per row on average), exact H(Y1, Y2) = H(π) + Σ π_i H(P_i·).
Per seed: 1,000 documents of 1,501 tokens (N = 1.5 M adjacent pairs, like the embedded books),
Ĥ_G from 1/8, 1/4, 1/2 and all of the documents (``estimators.entropy_convergence``, nested) and
its Aitken extrapolation; infomeasure's estimators for undersampled data on the same pairs.

Then the Markov-oracle backend with a wrong start ρ, end to end (warehouse, count_ngrams,
scoring, bipartite_mi, fit): with q = p except q(Y1|BOS) = ρ, every term after Y1 cancels and

    E[direct] = I_1 + KL(π‖ρ)/5 + 4/5·(Ĥ_G − H(Y1, Y2))        (nats, at every ℓ and L)

so the corrected estimate's known limit is I_1 + KL(π‖ρ)/5 and Ĥ_G's bias moves it by 4/5 of
itself. I_1 is the same at every L, so the exact β is 0.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.calibration.common import coverage_row
from l2m_analysis.corpus.block_counting import CountOptions
from l2m_analysis.corpus.sparse_markov import (
    sample_sparse_chain,
    sparse_bipartite_mi,
    sparse_pair_entropy,
    sparse_stationary,
    zipf_sparse_chain,
)
from l2m_analysis.estimators.entropy_convergence import adjacent_pair_convergence
from l2m_analysis.fits.power import fit_power_law
from l2m_analysis.scoring import ScoringPlan, derangement, score_run
from l2m_analysis.scoring.markov_oracle import MarkovOracle
from l2m_analysis.scoring.samples import choose_samples, windows_from_tokens
from l2m_analysis.steps.bipartite_mi import bipartite_mi
from l2m_analysis.steps.count_ngrams import count_ngrams
from l2m_analysis.warehouse import Warehouse

STUDY = "entropy"
K, DOCS, DOC_TOKENS = 50_000, 1_000, 1_501  # 1,500,000 adjacent pairs
QUICK = (5_000, 200, 751)  # K, documents, tokens per document
INFOMEASURE = ("miller_madow", "chao_shen", "chao_wang_jost", "nsb")
SCORED_LENGTH, SPLITS = 16, (2, 4, 8)  # L = 4, 8, 16 at L/ℓ = 2
SCORED = 5_000  # samples of SCORED_LENGTH tokens (the corpus's chunks) scored per replicate
ORACLE_SEEDS = 5  # end-to-end replicates (each ~ a minute on 2 cores)


def run(seeds: int, quick: bool) -> list[dict]:
    k, docs, tokens = QUICK if quick else (K, DOCS, DOC_TOKENS)
    chain = zipf_sparse_chain(k, np.random.default_rng(2026), exponent=0.9, successors=300.0)
    pi = sparse_stationary(chain)
    exact = sparse_pair_entropy(chain, pi)
    source = f"Zipf chain K={k:,}, N={docs * (tokens - 1):,}"
    found: dict[str, list[float]] = {}
    for seed in range(seeds):
        stream = sample_sparse_chain(chain, docs, tokens, np.random.default_rng(seed), pi)
        for name, value in entropy_estimates(stream).items():
            found.setdefault(name, []).append(value)
    rows = [_entropy_row(name, values, exact, source) for name, values in found.items()]
    oracle_seeds = min(seeds, 1 if quick else ORACLE_SEEDS)
    return rows + oracle_rows(chain, pi, docs, tokens, oracle_seeds, source)


def entropy_estimates(stream: np.ndarray) -> dict[str, float]:
    """Every estimate of H(Y1, Y2) from (n_docs, length) token streams, nats, by name:
    Ĥ_G at each nested fraction, its Aitken limit, infomeasure's at each fraction."""
    n_docs, length = stream.shape
    doc = np.repeat(np.arange(n_docs), length)
    conv = adjacent_pair_convergence(stream.ravel(), doc, doc, seed=0)
    out = {}
    for f, e in zip(conv.fractions, conv.estimates, strict=True):
        out[f"grassberger @ N·{f:g}"] = e.value
        out[f"grassberger ±1.96se @ N·{f:g}"] = (e.value, e.stderr)
    out["grassberger, Aitken-extrapolated (1/4, 1/2, 1)"] = (
        math.nan if conv.extrapolated is None else conv.extrapolated
    )
    out.update(infomeasure_estimates(stream, conv.fractions))
    return out


def infomeasure_estimates(stream: np.ndarray, fractions) -> dict[str, float]:
    """infomeasure 0.6.3's discrete estimators on the pairs of the first f·n_docs documents
    (the convergence above draws documents in a seeded order; these take them in order)."""
    try:
        import infomeasure
    except ImportError:  # a dev extra: pip install -e '.[dev]'
        return {}
    k = int(stream.max()) + 1
    out = {}
    for f in fractions:
        part = stream[: max(1, round(f * stream.shape[0]))]
        keys = (part[:, :-1] * k + part[:, 1:]).ravel()
        codes = np.unique(keys, return_inverse=True)[1]
        for approach in INFOMEASURE:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = float(infomeasure.entropy(codes, approach=approach, base="e"))
            out[f"infomeasure {approach} @ N·{f:g}"] = value
    return out


def _entropy_row(name: str, values: list, exact: float, source: str) -> dict:
    if name.startswith("grassberger ±"):  # the delta-method interval's coverage
        est = np.array([v for v, _ in values])
        covered = [abs(v - exact) <= 1.96 * se for v, se in values]
        return coverage_row(STUDY, name, source, "H(Y1,Y2)", exact, est, covered,
                            "Ĥ_G ± 1.96 delta-method stderr")  # fmt: skip
    est = np.array(values, dtype=float)
    finite = est[np.isfinite(est)]
    note = "" if finite.size == est.size else f"{est.size - finite.size} replicates gave NaN"
    return coverage_row(STUDY, name, source, "H(Y1,Y2)", exact,
                        finite if finite.size else est, None, note)  # fmt: skip


def oracle_rows(chain, pi, docs: int, tokens: int, seeds: int, source: str) -> list[dict]:
    """The wrong-start Markov oracle through the pipelines: `direct` against its known limit
    I_1 + KL/5, against that limit moved by 4/5 of each replicate's Ĥ_G error, and β (exact 0)."""
    i1, h_exact = sparse_bipartite_mi(chain, pi), sparse_pair_entropy(chain, pi)
    wrong = _wrong_start(pi)
    kl = float(np.sum(pi * (np.log(pi) - np.log(wrong))))
    limit = i1 + kl / 5  # Eq. (A.14) with Ĥ_G = H exactly
    means, residuals, covered, covered_moved, betas, uncorrected = [], [], [], [], [], []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as folder:
            est, h = _oracle_replicate(Path(folder), chain, pi, wrong, docs, tokens, seed)
        direct = est.filter(estimator="direct", ratio=2).sort("length")
        moved = limit + 0.8 * (h - h_exact)  # the limit with this replicate's Ĥ_G
        means.append(float(direct["value"].mean()))
        residuals.append(float(direct["value"].mean()) - moved)
        covered += list((direct["value"] - limit).abs() <= 1.96 * direct["stderr"])
        covered_moved += list((direct["value"] - moved).abs() <= 1.96 * direct["stderr"])
        fit = fit_power_law(direct["length"].to_numpy(), direct["value"].to_numpy(),
                            direct["stderr"].to_numpy())  # fmt: skip
        betas.append(fit.exponent)
        uncorrected.append(float(est.filter(estimator="direct_uncorrected", ratio=2)["value"]
                                 .mean()))  # fmt: skip
    src = f"{source}, wrong-start oracle"
    note = (f"I_1 = {i1:.4f}, KL(π‖ρ) = {kl:.4f}; mean over L = 4, 8, 16 (L/ℓ = 2); coverage "
            f"of each point's ±1.96·stderr")  # fmt: skip
    return [
        coverage_row(STUDY, "direct (2-gram corrected)", src, "I_1 + KL/5", limit, means,
                     covered, note),
        coverage_row(STUDY, "direct − 0.8·(Ĥ_G − H)", src, "I_1 + KL/5 + 0.8·(Ĥ_G − H)", 0.0,
                     residuals, None, "residual against the derived limit, per replicate"),
        coverage_row(STUDY, "direct, interval vs moved limit", src, "I_1 + KL/5 + 0.8·ΔĤ_G",
                     limit, means, covered_moved, "coverage of ±1.96·stderr vs the moved limit"),
        coverage_row(STUDY, "direct_uncorrected", src, "I_1 + KL", i1 + kl, uncorrected, None,
                     note),
        coverage_row(STUDY, "β of direct (WLS)", src, "β = 0 (I_BP = I_1 at every L)", 0.0,
                     betas, None),
    ]  # fmt: skip


def _wrong_start(pi: np.ndarray) -> np.ndarray:
    """A wrong BOS distribution ρ = (π + uniform)/2, so 0 < KL(π‖ρ) < log 2."""
    rho = 0.5 / pi.size + 0.5 * pi
    return rho / rho.sum()


def _oracle_replicate(folder: Path, chain, pi, wrong, docs: int, tokens: int, seed: int):
    """One corpus of ``docs`` × ``tokens``, counted, scored by the wrong-start oracle, estimated:
    (the run's mi_estimates rows, the Ĥ_G the correction used)."""
    stream = sample_sparse_chain(chain, docs, tokens, np.random.default_rng(1000 + seed), pi)
    doc = np.repeat(np.arange(docs), tokens)
    at = np.tile(np.arange(tokens), docs)
    chunks = -(-tokens // SCORED_LENGTH)  # each document cut into samples of SCORED_LENGTH
    table = pl.DataFrame({
        "doc_id": doc, "sample_id": doc * chunks + at // SCORED_LENGTH,
        "chunk_index": (at // SCORED_LENGTH).astype(np.int32),
        "position": (at % SCORED_LENGTH).astype(np.int32), "token_id": stream.ravel(),
    })  # fmt: skip
    tokenizer = f"zipf-chain sha256:{seed:064d}"
    with Warehouse.open(folder / "l2m.duckdb") as wh:
        wh.start_run("corpus", run_id="chain", tokenizer=tokenizer, dataset="zipf-chain",
                     config={"vocab_size": chain.shape[0]})  # fmt: skip
        wh.append_batch("tokens", "chain", "docs-all", table)
        wh.finish_run("chain")
        count_ngrams(wh, "chain", (1,), CountOptions(seed=None))
        lengths = table.group_by("sample_id", "doc_id").agg(n_tokens=pl.len())
        n = min(SCORED, lengths.filter(pl.col("n_tokens") >= SCORED_LENGTH).height)
        choice = choose_samples(lengths, SCORED_LENGTH, n, seed=seed, corpus_run="chain")
        windows = windows_from_tokens(table, choice, SCORED_LENGTH)
        oracle = MarkovOracle(chain, wrong)
        wh.start_run("llm", run_id="wrong-start", model=oracle.name, tokenizer=tokenizer,
                     dataset="zipf-chain", config={"corpus_run_id": "chain"})  # fmt: skip
        score_run(wh, "wrong-start", oracle, windows, ScoringPlan(n, SPLITS, batch_size=1000),
                  derangement(windows.doc_ids, seed=seed), show_progress=False)  # fmt: skip
        wh.finish_run("wrong-start")
        bipartite_mi(wh, "wrong-start", notify=lambda _: None)
        est = wh.query("SELECT * FROM mi_estimates WHERE run_id = 'wrong-start'")
        h = wh.query("SELECT value FROM entropies WHERE run_id = 'wrong-start' AND "
                     "quantity = 'adjacent_pair'")["value"][0]  # fmt: skip
    return est, float(h)
