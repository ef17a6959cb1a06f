"""The toy source of §4.4 (every token of a sequence is one symbol of M): I_d^TP = I^BP =
log M. Each replicate draws D constant sequences and runs the real pipelines on a temporary
warehouse: count_ngrams, two_point_mi, Markov-oracle scoring (P = I, uniform start) and
bipartite_mi. Rows: two-point I_d at d = 1 and d = L − 1, direct_uncorrected and direct at
ℓ = L/2, L/ℓ = 2, with the coverage of value ± 1.96·stderr. vCLUB has no finite limit here
(q(Y1 | X′) = 0 for X′ of another symbol) and gets no row.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.calibration.common import coverage_row
from l2m_analysis.cli import run_cli
from l2m_analysis.corpus.toy import (
    constant_sequences,
    exact_toy_mi,
    toy_tokens_frame,
    toy_transition_matrix,
)
from l2m_analysis.scoring import ScoringPlan, derangement, score_run
from l2m_analysis.scoring.markov_oracle import MarkovOracle
from l2m_analysis.scoring.samples import choose_samples, windows_from_tokens
from l2m_analysis.warehouse import Warehouse
from pipelines import bipartite_mi, count_ngrams, two_point_mi

STUDY = "toy"
SYMBOLS, LENGTH = 8, 64
Z95 = 1.959964


def toy_estimates(path: Path, n_docs: int, seed: int) -> pl.DataFrame:
    """mi_estimates of one replicate (D = n_docs constant sequences of LENGTH tokens over
    SYMBOLS symbols), through the pipelines, in the warehouse at ``path``."""
    tokens = toy_tokens_frame(
        constant_sequences(SYMBOLS, n_docs, LENGTH, np.random.default_rng(seed))
    )
    with Warehouse.open(path) as wh:
        wh.start_run("corpus", run_id="toy", tokenizer=f"toy-M{SYMBOLS} sha256:" + "0" * 64,
                     dataset=f"toy-M{SYMBOLS}", config={"vocab_size": SYMBOLS})  # fmt: skip
        wh.append_batch("tokens", "toy", "docs-all", tokens)
        wh.finish_run("toy")
    base = ["--warehouse", str(path), "--run-id", "toy"]
    assert run_cli(count_ngrams.main, [*base, "--distances", "1", str(LENGTH - 1)]) == 0
    assert run_cli(two_point_mi.main, base) == 0
    oracle = MarkovOracle(toy_transition_matrix(SYMBOLS))  # π of P = I: the uniform start
    lengths = tokens.group_by("sample_id", "doc_id").agg(n_tokens=pl.len())
    windows = windows_from_tokens(
        tokens, choose_samples(lengths, LENGTH, n_docs, seed, "toy"), LENGTH
    )
    with Warehouse.open(path) as wh:
        wh.start_run("llm", run_id="toy-oracle", model=oracle.name, dataset=f"toy-M{SYMBOLS}",
                     config={"corpus_run_id": "toy"})  # fmt: skip
        score_run(wh, "toy-oracle", oracle, windows, ScoringPlan(n_docs, (LENGTH // 2,)),
                  derangement(windows.doc_ids, seed=seed), show_progress=False)  # fmt: skip
        wh.finish_run("toy-oracle")
    assert run_cli(bipartite_mi.main, ["--warehouse", str(path)]) == 0
    with Warehouse.open(path, create=False) as wh:
        return wh.query("SELECT * FROM mi_estimates")


def run(seeds: int, quick: bool) -> list[dict]:
    """One row per estimator (see the module docstring); ``quick``: D = 100, ≤ 5 seeds."""
    n_docs = 100 if quick else 400
    picks = {  # estimator -> (quantity, filter)
        "grassberger (d = 1)": ("two_point", pl.col("distance") == 1),
        f"grassberger (d = {LENGTH - 1})": ("two_point", pl.col("distance") == LENGTH - 1),
        "direct_uncorrected": ("bipartite", pl.col("ratio") == 2),
        "direct": ("bipartite", pl.col("ratio") == 2),
    }
    found: dict[str, list[tuple[float, float]]] = {k: [] for k in picks}
    for seed in range(min(seeds, 5) if quick else seeds):
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            estimates = toy_estimates(Path(tmp) / "l2m.duckdb", n_docs, seed)
        for name, (quantity, where) in picks.items():
            estimator = name.split(" ")[0]
            row = estimates.filter((pl.col("quantity") == quantity)
                                   & (pl.col("estimator") == estimator) & where)  # fmt: skip
            found[name].append((row["value"][0], row["stderr"][0]))
    exact = exact_toy_mi(SYMBOLS)
    source = f"toy §4.4, M = {SYMBOLS}, D = {n_docs} × L = {LENGTH}"
    rows = []
    for name, pairs in found.items():
        values, stderrs = np.array(pairs).T
        covered = np.abs(values - exact) <= Z95 * stderrs + 1e-9  # float rounding
        target = "I_d = log M" if name.startswith("grassberger") else "I_BP(ℓ = 32, L = 64) = log M"
        note = ("counts measure H(p̂) of D draws: log M − H(p̂) ≈ χ²_{M−1}/(2D); the stderr "
                "treats the N tokens as independent") if name.startswith("grassberger") else (
                "exact per sample (stderr 0)" if name == "direct_uncorrected" else
                "4/5 of Ĥ_G's deficit χ²_{M−1}/(2D)")  # fmt: skip
        rows.append(coverage_row(STUDY, name, source, target, exact, values, covered, note))
    return rows
