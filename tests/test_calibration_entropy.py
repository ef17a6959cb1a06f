"""The `entropy` calibration study in its quick mode: rows of the shared layout, Ĥ_G low and
rising with N, and the wrong-start oracle's `direct` on the limit it was derived to have."""

from __future__ import annotations

import pytest

from benchmarks.calibration import entropy
from benchmarks.calibration.common import ROW_KEYS

pytestmark = pytest.mark.slow  # a K = 5,000 chain, 150k pairs, one pipeline run (~15 s)


def test_the_quick_study_measures_the_bias_and_the_derived_limit() -> None:
    rows = {r["estimator"]: r for r in entropy.run(2, quick=True)}
    assert all(set(r) == set(ROW_KEYS) for r in rows.values())
    biases = [rows[f"grassberger @ N·{f:g}"]["bias"] for f in (0.125, 0.25, 0.5, 1.0)]
    assert all(b < 0 for b in biases) and biases == sorted(biases)  # low, shrinking with N
    assert rows["grassberger ±1.96se @ N·1"]["coverage"] == 0.0  # the stderr misses the bias
    # direct − 0.8·(Ĥ_G − H) sits on I_1 + KL/5; direct itself is 0.8 × Ĥ_G's bias below it
    assert abs(rows["direct − 0.8·(Ĥ_G − H)"]["bias"]) < 0.05
    assert rows["direct (2-gram corrected)"]["bias"] == pytest.approx(0.8 * biases[-1], abs=0.05)
    assert abs(rows["direct_uncorrected"]["bias"]) < 0.05
