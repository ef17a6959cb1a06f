"""Ĥ_G(Y1, Y2) against the exact adjacent-pair entropy of a sparse large-vocabulary chain, its
convergence over nested fractions of the data, and β under each Ĥ_G (Eq. A.12-A.14)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from l2m_analysis.corpus.markov import adjacent_pair_entropy, stationary_distribution
from l2m_analysis.corpus.sparse_markov import (
    sample_sparse_chain,
    sparse_bipartite_mi,
    sparse_pair_entropy,
    sparse_stationary,
    zipf_sparse_chain,
)
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import entropy_grassberger, entropy_plugin
from l2m_analysis.estimators.entropy_convergence import adjacent_pair_convergence, aitken_limit
from l2m_analysis.fits import describe
from l2m_analysis.fits.h2gram_sensitivity import WARNING, with_h2gram_sensitivity
from l2m_analysis.fits.series import fit_mi_series
from l2m_analysis.scoring.backend import ScoreRequest
from l2m_analysis.scoring.markov_oracle import MarkovOracle

CHAIN = zipf_sparse_chain(300, np.random.default_rng(11), successors=12.0)
PI = sparse_stationary(CHAIN)


def pairs_of(docs: np.ndarray) -> np.ndarray:
    """Adjacent pairs of (n_docs, length) streams as counts per distinct pair."""
    keys = docs[:, :-1] * CHAIN.shape[0] + docs[:, 1:]
    return np.unique(keys, return_counts=True)[1]


def test_the_sparse_chain_has_the_dense_formulas_answers() -> None:
    dense = CHAIN.toarray()
    assert np.abs(PI - stationary_distribution(dense)).max() < 1e-10
    assert sparse_pair_entropy(CHAIN, PI) == pytest.approx(adjacent_pair_entropy(dense), abs=1e-9)
    h_pi = -np.sum(PI * np.log(PI))
    assert sparse_bipartite_mi(CHAIN) == pytest.approx(
        2 * h_pi - adjacent_pair_entropy(dense), abs=1e-9
    )
    assert CHAIN.nnz < 0.2 * CHAIN.shape[0] ** 2  # sparse rows


def test_sampled_transitions_follow_the_matrix() -> None:
    docs = sample_sparse_chain(CHAIN, 400, 500, np.random.default_rng(1), PI)
    counts = np.zeros(CHAIN.shape)
    np.add.at(counts, (docs[:, :-1].ravel(), docs[:, 1:].ravel()), 1)
    assert set(zip(*counts.nonzero(), strict=True)) <= set(zip(*CHAIN.nonzero(), strict=True))
    rows = counts.sum(axis=1)
    frequent = rows > 2000
    empirical = counts[frequent] / rows[frequent, None]
    assert np.abs(empirical - CHAIN.toarray()[frequent]).max() < 0.04
    assert np.abs(np.bincount(docs.ravel(), minlength=300) / docs.size - PI).max() < 0.01


def test_grassberger_recovers_the_exact_pair_entropy_of_the_chain() -> None:
    docs = sample_sparse_chain(CHAIN, 200, 1000, np.random.default_rng(2), PI)
    estimate, exact = entropy_grassberger(pairs_of(docs)), sparse_pair_entropy(CHAIN, PI)
    plugin = entropy_plugin(pairs_of(docs))
    # well sampled (N = 200k pairs, ~3k distinct): unbiased within the sampling error, while
    # plug-in is still visibly low
    assert abs(estimate.value - exact) < 4 * estimate.stderr + 0.005, (estimate, exact)
    assert exact - plugin.value > 2 * (exact - estimate.value)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 50), min_size=2, max_size=60), st.randoms(use_true_random=False))
def test_entropy_is_invariant_under_relabelling(counts, rnd) -> None:
    counts = np.array(counts)
    relabelled = counts.copy()
    rnd.shuffle(relabelled)
    for estimator in (entropy_grassberger, entropy_plugin):
        a, b = estimator(counts), estimator(relabelled)
        assert a.value == pytest.approx(b.value, abs=1e-12)
        assert a.stderr == pytest.approx(b.stderr, abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_convergence_is_invariant_under_relabelling_the_tokens(seed) -> None:
    rng = np.random.default_rng(seed)
    docs = sample_sparse_chain(CHAIN, 16, 40, rng, PI)
    relabel = rng.permutation(CHAIN.shape[0])
    groups = np.repeat(np.arange(16), 40)
    a = adjacent_pair_convergence(docs.ravel(), groups, groups, seed=seed)
    b = adjacent_pair_convergence(relabel[docs].ravel(), groups, groups, seed=seed)
    assert [e.value for e in a.estimates] == pytest.approx([e.value for e in b.estimates])


def test_nested_fractions_end_at_the_whole_data_and_rise() -> None:
    chain = zipf_sparse_chain(3000, np.random.default_rng(5), successors=60.0)  # H ≈ 7.97 nats
    docs = sample_sparse_chain(chain, 64, 200, np.random.default_rng(3), sparse_stationary(chain))
    doc = np.repeat(np.arange(64), 200)
    conv = adjacent_pair_convergence(docs.ravel(), doc, doc, seed=0)
    whole = entropy_grassberger(np.unique(docs[:, :-1] * 3000 + docs[:, 1:], return_counts=True)[1])
    assert conv.final.value == pytest.approx(whole.value) and conv.final.n == whole.n
    assert conv.fractions == pytest.approx((0.125, 0.25, 0.5, 1.0))  # 8, 16, 32 whole documents
    values = [e.value for e in conv.estimates]
    assert values == sorted(values)  # undersampled: Ĥ_G rises with the data
    assert not conv.converged and "has not converged" in conv.warning
    assert values[-1] < sparse_pair_entropy(chain) and conv.extrapolated > values[-1]
    # pairs never cross a document: one document of 2 tokens per token pair is one pair each
    two = adjacent_pair_convergence(np.arange(8), np.repeat(np.arange(4), 2), np.arange(8))
    assert two.final.n == 4


def test_aitken_is_exact_on_a_geometric_approach_and_refuses_otherwise() -> None:
    h = 11.0 - 0.5 * 0.7 ** np.arange(3)
    assert aitken_limit(h) == pytest.approx(11.0)
    assert aitken_limit([1.0, 2.0, 3.5]) is None  # rises that grow: no limit
    assert aitken_limit([1.0, 1.0, 1.0]) is None


def test_bad_fractions_and_inputs_are_refused() -> None:
    ids = np.arange(10)
    with pytest.raises(InputError, match="end at 1.0"):
        adjacent_pair_convergence(ids, np.zeros(10), ids, fractions=(0.5, 0.9))
    with pytest.raises(InputError, match="no adjacent pairs"):
        adjacent_pair_convergence(ids, ids, ids)


def test_the_sparse_oracle_scores_as_the_dense_one() -> None:
    tokens = sample_sparse_chain(CHAIN, 1, 50, np.random.default_rng(4), PI)[0]
    start = np.full(300, 1 / 300)
    req = [ScoreRequest(context=tokens[:10], continuation=tokens[10:], start_position=10)]
    for wrong in (None, start):
        dense = MarkovOracle(CHAIN.toarray(), wrong).score(req)[0]
        np.testing.assert_allclose(MarkovOracle(sparse.csr_matrix(CHAIN), wrong).score(req)[0],
                                   dense, atol=1e-12)  # fmt: skip
    assert MarkovOracle(CHAIN, start).kl_start() == pytest.approx(
        MarkovOracle(CHAIN.toarray(), start).kl_start(), abs=1e-10
    )


def convergence_frame(hs: list[float], stderr: float, extrapolated: float | None):
    rows = [{"run_id": "r", "fraction": f, "h_2gram": h, "h_2gram_stderr": stderr,
             "h_2gram_used": hs[-1], "extrapolated": False}
            for f, h in zip((0.125, 0.25, 0.5, 1.0), hs, strict=True)]  # fmt: skip
    if extrapolated is not None:
        limit = {"fraction": None, "h_2gram": extrapolated, "h_2gram_stderr": None}
        rows.append({**rows[-1], **limit, "extrapolated": True})
    return pl.DataFrame(rows)


def test_beta_under_each_h2gram_shifts_every_direct_point_by_four_fifths() -> None:
    length = np.array([4, 8, 16, 32, 64, 128])
    value = 0.5 * length**0.6
    estimates = pl.DataFrame({
        "run_id": "r", "source": "books", "quantity": "bipartite", "estimator": "direct",
        "length": length, "split_at": length // 2, "ratio": 2, "distance": None,
        "value": value, "stderr": 0.05 * value,
    })  # fmt: skip
    fits = fit_mi_series(pl.concat([estimates, estimates.with_columns(
        estimator=pl.lit("vclub"))])).rows  # fmt: skip
    hs = [10.0, 10.6, 11.0, 11.3]
    out = with_h2gram_sensitivity(fits, estimates, convergence_frame(hs, 0.01, 11.9))
    direct = out.filter(estimator="direct", law="power").row(0, named=True)
    entries = json.loads(direct["detail"])["h2gram_convergence"]
    assert [e["fraction"] for e in entries] == [0.125, 0.25, 0.5, 1.0, None]
    assert entries[3]["beta"] == pytest.approx(direct["exponent"])  # Ĥ_G as used: the fit
    assert entries[4]["shift"] == pytest.approx(0.8 * 0.6)
    # a higher Ĥ_G raises every point by the same amount: a flatter curve, smaller β
    assert entries[4]["beta"] < direct["exponent"] < entries[0]["beta"]
    assert WARNING in direct["warnings"]  # rose 0.3 > 2 × 0.01 from 1/2 to all
    text = describe.h2gram(direct)
    assert "not converged" in text and "β under each" in text and "extrapolated 11.90" in text
    untouched = out.filter(estimator="vclub")
    assert untouched.equals(fits.filter(estimator="vclub"))
    converged = with_h2gram_sensitivity(fits, estimates, convergence_frame([11.2] * 4, 0.01, None))
    assert WARNING not in converged.filter(estimator="direct", law="power")["warnings"][0]


def test_beta_under_each_h2gram_refits_the_points_the_reported_fit_used() -> None:
    """A point the fit dropped (I <= 0 at the smallest L) is dropped from the refits too: at
    the Ĥ_G used (shift 0) the refit IS the reported β, not a missing one."""
    length = np.array([4, 8, 16, 32, 64])
    value = 0.5 * length**0.6
    value[0] = -0.01  # dropped by the fit: log I needs I > 0
    estimates = pl.DataFrame({
        "run_id": "r", "source": "books", "quantity": "bipartite", "estimator": "direct",
        "length": length, "split_at": length // 2, "ratio": 2, "distance": None,
        "value": value, "stderr": 0.05,
    })  # fmt: skip
    fits = fit_mi_series(estimates).rows
    direct = fits.filter(law="power").row(0, named=True)
    assert direct["n_dropped"] == 1
    out = with_h2gram_sensitivity(
        fits, estimates, convergence_frame([11.0, 11.1, 11.2, 11.3], 0.01, None)
    )
    entries = json.loads(out.filter(law="power")["detail"][0])["h2gram_convergence"]
    assert entries[3]["shift"] == 0.0
    assert entries[3]["beta"] == pytest.approx(direct["exponent"])
    assert entries[0]["beta"] > direct["exponent"]  # a lower Ĥ_G: every point lower, steeper
