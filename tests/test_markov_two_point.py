"""Ground truth: token streams from a Markov chain whose two-point MI is known exactly.

The counting + Grassberger two-point estimator must match the exact I_d (matrix powers of the
stationary chain) within its error bars at small d, and sit on the estimator's bias floor,
measured by the shift baseline, at large d where the exact I_d is ~0.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from l2m_analysis.corpus.corpus_counts import CorpusCounts, count_corpus
from l2m_analysis.corpus.markov import (
    exact_two_point_mi,
    sample_markov_chain,
    stationary_distribution,
    sticky_transition_matrix,
)
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import entropy_grassberger
from l2m_analysis.estimators.two_point import two_point_mi

DISTANCES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
N_STATES, N_DOCS, DOC_LENGTH = 32, 20, 5000  # 100k tokens against 1024 joint cells


@pytest.fixture(scope="module")
def chain():
    rng = np.random.default_rng(2)
    transition = sticky_transition_matrix(N_STATES, stickiness=0.7, rng=rng, concentration=0.3)
    streams = sample_markov_chain(transition, N_DOCS, DOC_LENGTH, rng)  # (N_DOCS, DOC_LENGTH)
    groups = np.repeat(np.arange(N_DOCS), DOC_LENGTH)
    return transition, streams.ravel(), groups


def estimates(counts: CorpusCounts, shuffled: bool) -> dict[int, tuple[float, float]]:
    """{d: (I_d, stderr)} in nats from the counts, as pipelines.two_point_mi computes it."""
    uni = counts.ngrams.filter(pl.col("order") == 1)
    h_x = entropy_grassberger(uni["count"], uni["n_items"])
    out = {}
    for d in DISTANCES:
        cc = counts.pairs.filter((pl.col("distance") == d) & (pl.col("shuffled") == shuffled))
        mi = two_point_mi(h_x, h_x, entropy_grassberger(cc["count"], cc["n_items"]), d)
        out[d] = (mi.value, mi.stderr)
    return out


def test_exact_mi_known_cases() -> None:
    # two-state symmetric chain, flip probability q: I_d = log 2 − H_b((1 − (1−2q)^d) / 2)
    q = 0.1
    transition = np.array([[1 - q, q], [q, 1 - q]])
    for d in (1, 3, 10):
        p = (1 - (1 - 2 * q) ** d) / 2
        expected = np.log(2) + p * np.log(p) + (1 - p) * np.log(1 - p)
        assert exact_two_point_mi(transition, [d])[0] == pytest.approx(expected, rel=1e-10)
    iid = np.tile([0.2, 0.3, 0.5], (3, 1))  # rows identical: tokens independent, I_d = 0
    assert np.allclose(exact_two_point_mi(iid, [1, 5]), 0.0, atol=1e-14)
    assert np.allclose(stationary_distribution(iid), [0.2, 0.3, 0.5])
    with pytest.raises(InputError):
        exact_two_point_mi(np.array([[0.5, 0.6], [0.5, 0.5]]), [1])


def test_sampler_follows_the_transition_matrix(chain) -> None:
    transition, tokens, groups = chain
    same = groups[:-1] == groups[1:]
    joint = np.zeros((N_STATES, N_STATES))
    np.add.at(joint, (tokens[:-1][same], tokens[1:][same]), 1)
    empirical = joint / joint.sum(axis=1, keepdims=True)
    assert np.abs(empirical - transition).max() < 0.05


def test_estimates_match_exact_mi_at_small_d_and_the_floor_at_large_d(chain) -> None:
    transition, tokens, groups = chain
    exact = dict(zip(DISTANCES, exact_two_point_mi(transition, DISTANCES), strict=True))
    counts = count_corpus(tokens, groups, N_STATES, DISTANCES, shuffle_seed=0, baseline="shift")
    real, floor = estimates(counts, False), estimates(counts, True)
    small = [d for d in DISTANCES if exact[d] > 0.5]  # signal far above the bias floor
    assert small == [1, 2, 4]
    for d in small:
        value, stderr = real[d]
        assert abs(value - exact[d]) < 2 * stderr, (d, value, exact[d], stderr)
        assert stderr < 0.02 * exact[d]  # error bars tight enough to mean something
    large = [d for d in DISTANCES if exact[d] < 1e-6]
    assert large == [32, 64, 128, 256, 512]
    floor_values = np.array([floor[d][0] for d in large])
    spread = floor_values.std()
    assert floor_values.mean() > 0.005 > 5 * spread  # a real, positive bias floor
    for d in large:
        assert real[d][0] > exact[d] + 0.005  # the raw estimator is biased upwards ...
        assert abs(real[d][0] - floor[d][0]) < 4 * spread + 1e-3  # ... onto the floor
    # the baseline is flat: even at d = 1 it shows no MI, only the floor
    assert abs(floor[1][0] - floor_values.mean()) < 4 * spread + 1e-3


def test_permutation_baseline_underestimates_the_floor_of_a_sticky_chain(chain) -> None:
    """Why the default baseline is a shift: a permutation also destroys the serial correlation
    of consecutive pairs, so its Grassberger bias is lower than the real pairs' bias."""
    transition, tokens, groups = chain
    large = (64, 128, 256)
    counts = count_corpus(tokens, groups, N_STATES, large, shuffle_seed=0, baseline="permute")
    uni = counts.ngrams.filter(pl.col("order") == 1)
    h_x = entropy_grassberger(uni["count"], uni["n_items"])
    for d in large:
        rows = counts.pairs.filter(pl.col("distance") == d)
        real = rows.filter(~pl.col("shuffled"))
        perm = rows.filter(pl.col("shuffled"))
        i_real = two_point_mi(h_x, h_x, entropy_grassberger(real["count"], real["n_items"]), d)
        i_perm = two_point_mi(h_x, h_x, entropy_grassberger(perm["count"], perm["n_items"]), d)
        assert i_perm.value < i_real.value - 0.005
