"""The known-answer sources of issue 18: each exact I_d against an independent computation
(dense matrices, matrix powers) and against brute-force sampling at small sizes."""

from __future__ import annotations

import numpy as np
import pytest

from l2m_analysis.corpus.known_sources import (
    NestedClusters,
    exact_hmm_two_point_mi,
    exact_pooled_nested_mi,
    exact_pooled_two_point_mi,
    hmm_pair_joint,
    mi_of_joint,
    sample_hmm,
    sticky_topic_hmm,
)
from l2m_analysis.corpus.markov import exact_two_point_mi, stationary_distribution
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.two_point import mi_stderr_from_joint

DISTANCES = (1, 2, 3, 7, 20)


def empirical_joint(words: np.ndarray, distance: int, n_words: int) -> np.ndarray:
    """Counts of (w_t, w_{t+d}) inside each document, shape (V, V)."""
    x, y = words[:, :-distance].ravel(), words[:, distance:].ravel()
    return np.bincount(x * n_words + y, minlength=n_words**2).reshape(n_words, n_words)


def test_nested_closed_form_equals_the_dense_hmm_and_the_markov_chain():
    noisy = NestedClusters.build(depth=4, leak=0.6, spread=1.0, noise=0.3, seed=1)
    t, e = noisy.dense()
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    np.testing.assert_allclose(stationary_distribution(t), noisy.pi, atol=1e-12)
    np.testing.assert_allclose(
        noisy.exact_two_point_mi(DISTANCES), exact_hmm_two_point_mi(t, e, DISTANCES), rtol=1e-9
    )
    clean = NestedClusters.build(depth=4, leak=0.6, spread=1.0, noise=0.0, seed=1)
    np.testing.assert_allclose(
        clean.exact_two_point_mi(DISTANCES), exact_two_point_mi(clean.dense()[0], DISTANCES),
        rtol=1e-9,
    )  # fmt: skip


def test_pooled_nested_equals_the_mi_of_the_mixed_dense_joints():
    a = NestedClusters.build(depth=3, leak=0.4, spread=1.0, noise=0.2, seed=3)
    b = NestedClusters.build(depth=3, leak=0.9, spread=0.5, noise=0.6, seed=3)
    models = [a.dense(), b.dense()]
    np.testing.assert_allclose(
        exact_pooled_nested_mi([a, b], [0.25, 0.75], DISTANCES),
        exact_pooled_two_point_mi(models, [0.25, 0.75], DISTANCES),
        rtol=1e-9,
    )
    # pooling two different types adds the information of "which type", never less than the mix
    single = exact_pooled_nested_mi([a], [1.0], DISTANCES)
    assert not np.allclose(single, exact_pooled_nested_mi([a, b], [0.25, 0.75], DISTANCES))


def test_the_default_power_law_chain_decays_close_to_a_power_law():
    d = 2 ** np.arange(11)  # 1 .. 1024
    exact = NestedClusters.build().exact_two_point_mi(d)
    slope, intercept = np.polyfit(np.log(d), np.log(exact), 1)
    assert np.all(np.diff(exact) < 0)
    assert -0.5 < slope < -0.15
    assert np.max(np.abs(np.log(exact) - (intercept + slope * np.log(d)))) < 0.35


def test_sticky_topic_hmm_matches_sampling():
    rng = np.random.default_rng(5)
    t, e = sticky_topic_hmm(n_topics=3, n_words=6, stickiness=0.9, rng=rng, word_concentration=1)
    words = sample_hmm(t, e, n_docs=200, doc_length=2000, rng=rng)
    for d in (1, 5, 20):
        counts = empirical_joint(words, d, 6)
        se = mi_stderr_from_joint(counts)
        plug_in = mi_of_joint(counts / counts.sum())
        exact = exact_hmm_two_point_mi(t, e, [d])[0]
        assert abs(plug_in - exact) < 4 * se + 25 / (2 * counts.sum()), (d, plug_in, exact, se)


def test_hmm_joint_has_the_stationary_marginals():
    t, e = sticky_topic_hmm(rng=np.random.default_rng(0))
    joint = hmm_pair_joint(t, e, 17)
    marginal = stationary_distribution(t) @ e
    np.testing.assert_allclose(joint.sum(axis=1), marginal, atol=1e-12)
    np.testing.assert_allclose(joint.sum(axis=0), marginal, atol=1e-12)


def test_nested_sampler_matches_the_exact_joint():
    chain = NestedClusters.build(depth=3, leak=0.7, spread=1.0, noise=0.3, seed=2)
    words = chain.sample(n_docs=400, doc_length=1000, rng=np.random.default_rng(7))
    t, e = chain.dense()
    for d in (1, 4):
        counts = empirical_joint(words, d, 8)
        expected = hmm_pair_joint(t, e, d) * counts.sum()
        chi2 = np.sum((counts - expected) ** 2 / expected)
        assert chi2 < 63 + 5 * np.sqrt(2 * 63), (d, chi2)  # 64 cells


def test_pooled_clustered_hmm_is_sampled_by_its_documents():
    rng = np.random.default_rng(9)
    _, e = sticky_topic_hmm(n_topics=3, n_words=5, rng=rng, word_concentration=1)
    slow = 0.95 * np.eye(3) + 0.05 / 3
    fast = 0.5 * np.eye(3) + 0.5 / 3
    words = np.vstack([sample_hmm(slow, e, 100, 2000, rng), sample_hmm(fast, e, 100, 2000, rng)])
    exact = exact_pooled_two_point_mi([(slow, e), (fast, e)], [0.5, 0.5], [3])[0]
    counts = empirical_joint(words, 3, 5)
    plug_in = mi_of_joint(counts / counts.sum())
    assert abs(plug_in - exact) < 4 * mi_stderr_from_joint(counts) + 16 / (2 * counts.sum())


def test_bad_inputs_are_named():
    with pytest.raises(InputError, match="noise"):
        NestedClusters.build(noise=1.0)
    with pytest.raises(InputError, match="emission"):
        exact_hmm_two_point_mi(np.eye(2) * 0.5 + 0.25, np.ones((3, 4)) / 4, [1])
    with pytest.raises(InputError, match="weights"):
        exact_pooled_two_point_mi([(np.full((2, 2), 0.5), np.eye(2))], [0.5, 0.5], [1])
