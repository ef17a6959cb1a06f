"""The toy source of §4.4 end to end: a corpus of constant sequences through the real
count_ngrams, two_point_mi, Markov-oracle scoring (P = I, uniform start) and bipartite_mi.
Exact answer: I_d^TP = I^BP = log M at every d, ℓ and L.

Why each estimate may differ from log M, and by how much:
* two-point I_d and Ĥ_G(Y1, Y2) are counts over D = 400 sequences whose symbols are a
  multinomial draw: they measure H(p̂), and log M − H(p̂) ≈ χ²_{M−1}/(2D) (mean 0.0088 nats at
  M = 8, D = 400; the 0.999 quantile 0.030). On top, Grassberger's correction moves each Ĥ
  by up to ~M/N from H(p̂) (N = 25,600 tokens; 400 pairs at d = 63: 0.02 nats): it corrects
  for N i.i.d. observations, while the source has only D independent draws.
* direct_uncorrected is exact sample by sample: log q(Y|X) = 0 and log q(Y) = −log M.
* direct (Eq. A.14) replaces 4/5 of the marginal's first two terms (log M) by Ĥ_G, so it sits
  4/5 of Ĥ_G's deficit below log M.
* vCLUB (Eq. 7) has no finite limit: q(Y1 | X′) = 0 for an X′ of another symbol, so its
  estimate is set by the oracle's floor log(tiny) ≈ −708 (the clear reason it fails here).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from l2m_analysis.cli import run_cli
from l2m_analysis.corpus.markov import exact_vclub_limit
from l2m_analysis.corpus.toy import (
    constant_sequences,
    exact_toy_mi,
    sampling_deficit_bound,
    toy_tokens_frame,
    toy_transition_matrix,
)
from l2m_analysis.estimators.entropy import entropy_grassberger
from l2m_analysis.scoring import ScoringPlan, derangement, score_run
from l2m_analysis.scoring.markov_oracle import MarkovOracle
from l2m_analysis.scoring.samples import choose_samples, windows_from_tokens
from l2m_analysis.warehouse import Warehouse
from pipelines import bipartite_mi, count_ngrams, two_point_mi

M, DOCS, LENGTH = 8, 400, 64
SPLITS = (2, 8, 32)
DISTANCES = ("1", "4", "16", "63")
TOKENIZER = "toy-constant-M8 sha256:" + "0" * 64


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """The corpus, its counts and two-point MI, one oracle-scored run and its bipartite MI."""
    path = tmp_path_factory.mktemp("toy") / "l2m.duckdb"
    sequences = constant_sequences(M, DOCS, LENGTH, np.random.default_rng(11))
    tokens = toy_tokens_frame(sequences)
    with Warehouse.open(path) as wh:
        wh.start_run("corpus", run_id="toy", tokenizer=TOKENIZER, dataset="toy-M8",
                     config={"vocab_size": M})  # fmt: skip
        wh.append_batch("tokens", "toy", "docs-all", tokens)
        wh.finish_run("toy")
    base = ["--warehouse", str(path), "--run-id", "toy"]
    assert run_cli(count_ngrams.main, [*base, "--distances", *DISTANCES]) == 0
    assert run_cli(two_point_mi.main, base) == 0
    oracle = MarkovOracle(toy_transition_matrix(M))  # start None: π of P = I, see below
    lengths = tokens.group_by("sample_id", "doc_id").agg(n_tokens=pl.len())
    windows = windows_from_tokens(tokens, choose_samples(lengths, LENGTH, DOCS, 0, "toy"), LENGTH)
    with Warehouse.open(path) as wh:
        wh.start_run("llm", run_id="toy-oracle", model=oracle.name, tokenizer=TOKENIZER,
                     dataset="toy-M8", config={"corpus_run_id": "toy"})  # fmt: skip
        score_run(wh, "toy-oracle", oracle, windows, ScoringPlan(DOCS, SPLITS, batch_size=200),
                  derangement(windows.doc_ids, seed=1), show_progress=False)  # fmt: skip
        wh.finish_run("toy-oracle")
    assert run_cli(bipartite_mi.main, ["--warehouse", str(path)]) == 0
    with Warehouse.open(path, create=False) as wh:
        estimates = wh.query("SELECT * FROM mi_estimates")
        entropy = wh.query(
            "SELECT value FROM entropies WHERE quantity = 'adjacent_pair' AND run_id = 'toy'"
        )["value"][0]
    return sequences, oracle, estimates, entropy


def rows(estimates: pl.DataFrame, quantity: str, estimator: str) -> pl.Series:
    out = estimates.filter((pl.col("quantity") == quantity) & (pl.col("estimator") == estimator))
    assert out.height > 0, (quantity, estimator)
    return out["value"]


def test_the_markov_oracle_takes_the_identity_chain(toy_run) -> None:
    _, oracle, _, _ = toy_run
    # P = I is reducible: π is not unique. The oracle's π (least squares, minimum norm) is the
    # uniform start, which is the toy's p(x_1) = 1/M, so the oracle is the exact p.
    assert oracle.start == pytest.approx(np.full(M, 1 / M))
    assert oracle.name == f"markov-oracle:K{M}"


def test_two_point_mi_is_log_m_at_every_distance(toy_run) -> None:
    sequences, _, estimates, _ = toy_run
    exact, deficit = exact_toy_mi(M), sampling_deficit_bound(M, DOCS)
    two_point = estimates.filter(
        (pl.col("quantity") == "two_point") & (pl.col("estimator") == "grassberger")
    ).sort("distance")
    assert two_point["distance"].to_list() == [int(d) for d in DISTANCES]
    docs_per_symbol = np.bincount(sequences[:, 0], minlength=M)
    n_tokens = DOCS * LENGTH
    for d, value in zip(two_point["distance"], two_point["value"], strict=True):
        n_pairs = DOCS * (LENGTH - d)
        # Grassberger moves each Ĥ by at most ~M/N from H(p̂): + for Ĥ(X), Ĥ(Y), − for Ĥ(XY)
        assert exact - deficit - M / n_pairs <= value <= exact + 2 * M / n_tokens, (d, value)
        # and the counting is exact: the cells are (docs of symbol x) × (L − d) pairs
        h_x = entropy_grassberger(docs_per_symbol * LENGTH).value
        h_xy = entropy_grassberger(docs_per_symbol * (LENGTH - d)).value
        assert value == pytest.approx(2 * h_x - h_xy, abs=1e-9)
    # no decay with d beyond Grassberger's N-dependence: a flat I_d, which §4.4 calls a
    # misleading sign of "long-range" dependence
    assert float(two_point["value"].max() - two_point["value"].min()) < 2 * M / DOCS


def test_bipartite_direct_is_log_m_at_every_window(toy_run) -> None:
    _, _, estimates, entropy = toy_run
    exact, deficit = exact_toy_mi(M), sampling_deficit_bound(M, DOCS)
    uncorrected = rows(estimates, "bipartite", "direct_uncorrected")
    assert uncorrected.to_numpy() == pytest.approx(exact, abs=1e-9)  # exact sample by sample
    assert exact - deficit <= entropy <= exact + 1e-6  # Ĥ_G(Y1, Y2) measures H(p̂) too
    corrected = rows(estimates, "bipartite", "direct")
    assert corrected.to_numpy() == pytest.approx((exact + 4 * entropy) / 5, abs=1e-9)  # (A.14)
    assert (corrected >= exact - 0.8 * deficit).all()


def test_vclub_has_no_finite_limit_on_the_toy_source(toy_run) -> None:
    _, _, estimates, _ = toy_run
    assert math.isinf(exact_vclub_limit(toy_transition_matrix(M)))
    assert (rows(estimates, "bipartite", "vclub") > 100).all()  # the oracle's floor, not MI
