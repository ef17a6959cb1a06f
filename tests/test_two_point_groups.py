"""Group stderrs of two-point MI (estimators.two_point_groups): the pooled value is the usual
estimate, the jackknife equals the delta method on independent pairs, and it widens when
pairs within a document share a topic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l2m_analysis.corpus.known_sources import sample_hmm, sticky_topic_hmm
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.two_point import mi_stderr_from_joint, two_point_mi_from_counts
from l2m_analysis.estimators.two_point_groups import (
    group_key_counts,
    grouped_two_point_mi,
    jackknife_two_point,
    sample_batches,
)


def test_group_key_counts_counts_each_group_over_shared_keys():
    keys = np.array([7, 3, 7, 9, 3, 3])
    groups = np.array([0, 0, 1, 1, 1, 2])
    np.testing.assert_array_equal(
        group_key_counts(keys, groups, 3), [[1, 1, 0], [1, 1, 1], [1, 0, 0]]
    )  # columns: keys 3, 7, 9


def test_pooled_value_is_the_usual_grassberger_estimate():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=3000)
    y = (x + rng.integers(0, 3, size=3000)) % 6
    groups = np.arange(3000) % 5
    tokens = np.stack([np.bincount(x[groups == g], minlength=6) for g in range(5)])
    grouped = grouped_two_point_mi(tokens, group_key_counts(x * 6 + y, groups, 5), 1)
    usual = two_point_mi_from_counts(tokens.sum(0), tokens.sum(0), np.bincount(x * 6 + y), 1)
    assert grouped.value == pytest.approx(usual.value, abs=1e-12)


def test_jackknife_equals_the_delta_method_on_independent_pairs():
    """Pairs i.i.d. from a fixed joint: the group spread must match the analytic stderr."""
    rng = np.random.default_rng(1)
    joint = rng.dirichlet(np.ones(36)).reshape(6, 6)
    joint = (joint + joint.T) / 2  # equal marginals: Ĥ(X) = Ĥ(Y) as the corpus assumes
    ratios = []
    for _ in range(20):
        cells = rng.choice(36, size=20000, p=joint.ravel())
        x = cells // 6
        groups = np.arange(cells.size) % 20
        marg = np.stack([np.bincount(x[groups == g], minlength=6) for g in range(20)])
        grouped = grouped_two_point_mi(marg, group_key_counts(cells, groups, 20), 1)
        table = np.bincount(cells, minlength=36).reshape(6, 6)
        ratios.append(grouped.stderr_jackknife / mi_stderr_from_joint(table))
    assert 0.8 < np.mean(ratios) < 1.2, np.mean(ratios)


def test_group_stderr_grows_when_documents_share_a_topic():
    rng = np.random.default_rng(2)
    t, e = sticky_topic_hmm(n_topics=4, n_words=10, stickiness=0.998, rng=rng)
    words = sample_hmm(t, e, n_docs=40, doc_length=2000, rng=rng)
    group_of_doc = np.arange(40) // 2
    tokens = np.stack([np.bincount(words[group_of_doc == g].ravel(), minlength=10)
                       for g in range(20)])  # fmt: skip
    d = 4
    keys = (words[:, :-d] * 10 + words[:, d:]).ravel()
    pairs = group_key_counts(keys, np.repeat(group_of_doc, 2000 - d), 20)
    grouped = grouped_two_point_mi(tokens, pairs, d)
    iid = mi_stderr_from_joint(np.bincount(keys, minlength=100).reshape(10, 10))
    assert grouped.stderr_jackknife > 3 * iid
    assert grouped.stderr_batch_means > 3 * iid


def test_too_few_groups_is_refused():
    with pytest.raises(InputError, match="groups"):
        grouped_two_point_mi(np.ones((1, 3)), np.ones((1, 4)), 1)
    with pytest.raises(InputError, match="group ids"):
        group_key_counts(np.array([1, 2]), np.array([0, 5]), 2)


def test_jackknife_from_the_token_stream_equals_the_group_tables():
    rng = np.random.default_rng(3)
    t, e = sticky_topic_hmm(n_topics=4, n_words=12, stickiness=0.99, rng=rng)
    words = sample_hmm(t, e, n_docs=30, doc_length=500, rng=rng)
    docs = np.repeat(np.arange(30), 500)
    batches = sample_batches(docs, 10)  # each document one sample: 3 per batch
    group_of_doc = np.arange(30) * 10 // 30
    tokens = np.stack([np.bincount(words[group_of_doc == g].ravel(), minlength=12)
                       for g in range(10)])  # fmt: skip
    for d in (1, 7, 100):
        jack = jackknife_two_point(words.ravel(), docs, batches, d, baseline_seed=0)
        stderr, loo = jack.stderr, jack.loo
        assert 0 < jack.stderr_difference and 0 < jack.stderr_baseline
        keys = (words[:, :-d] * 12 + words[:, d:]).ravel()
        pairs = group_key_counts(keys, np.repeat(group_of_doc, 500 - d), 10)
        assert stderr == pytest.approx(grouped_two_point_mi(tokens, pairs, d).stderr_jackknife)
        assert loo.shape == (10,)
    with pytest.raises(InputError, match="batches"):
        sample_batches(docs, 31)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_batches=st.integers(2, 6), distance=st.integers(1, 5))
def test_jackknife_is_invariant_under_relabelling_the_tokens(seed, n_batches, distance):
    """Entropies do not depend on token names: any relabelling of the ids (even to sparse,
    huge ones) gives the same stderrs."""
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 7, size=(6, 60)).ravel()
    docs = np.repeat(np.arange(6), 60)
    batches = sample_batches(docs, n_batches)
    names = rng.permutation(7) * 1_000_003 + 11
    a = jackknife_two_point(words, docs, batches, distance, baseline_seed=1)
    b = jackknife_two_point(names[words], docs, batches, distance, baseline_seed=1)
    np.testing.assert_allclose(
        [a.stderr, a.stderr_baseline, a.stderr_difference],
        [b.stderr, b.stderr_baseline, b.stderr_difference],
        rtol=1e-9, atol=1e-12,
    )  # fmt: skip
