"""Section 5: history-state sizes against the exact bipartite MI the sub-volume Gaussian
requires, with the slope-1 guide and the state per nat."""

from __future__ import annotations

import itertools
import math

import polars as pl
import pytest

from l2m_analysis import charts
from l2m_analysis.charts.render import chart_spec
from l2m_analysis.errors import InputError
from l2m_analysis.l2m_condition.history_state import history_state_frame
from l2m_analysis.models.presets import PRESETS
from tests.chart_specs import one, run_rows, subtitle_text

REQUIRED = run_rows("gaussian-exact").filter(source="gaussian_subvolume", estimator="exact")


def test_states_against_the_required_mi():
    states = history_state_frame([PRESETS["gpt2-125m"], PRESETS["mamba-130m"]], [16, 1024, 100_000])
    spec = chart_spec(charts.l2m_chart(states, REQUIRED))
    _, rows = one(spec, "points")
    assert len(rows) == 4  # L = 100 000 has no exact estimate: dropped and counted
    assert "2 state rows without an estimate" in subtitle_text(spec)
    exact = REQUIRED.filter(ratio=2, length=1024)["value"][0]
    gpt = next(r for r in rows if r["model"] == "gpt2-125m" and r["length"] == 1024)
    assert gpt["required_mi"] == pytest.approx(exact)
    assert gpt["dim_per_nat"] == pytest.approx(2 * 12 * 768 * 512 / exact)
    _, guide = one(spec, "reference")
    slope = math.log(guide[1]["state_dim"] / guide[0]["state_dim"]) / math.log(
        guide[1]["required_mi"] / guide[0]["required_mi"])  # fmt: skip
    assert slope == pytest.approx(1.0)
    ssm = sorted((r["length"], r["dim_per_nat"]) for r in one(spec, "ratio-points")[1]
                 if r["model"] == "mamba-130m")  # fmt: skip
    assert ssm[0][1] > ssm[1][1]  # a fixed state per nat falls with L


def test_one_series_of_required_mi():
    states = history_state_frame([PRESETS["gpt2-tiny"]], [16])
    with pytest.raises(InputError, match="several series"):
        charts.l2m_chart(states, run_rows("gaussian-exact").filter(estimator="exact"))
    with pytest.raises(InputError, match="no state length has a required I_BP"):
        charts.l2m_chart(states.with_columns(length=pl.lit(5, dtype=pl.Int64)), REQUIRED)


def test_the_capacity_panel_puts_the_exact_capacity_beside_the_bound():
    from l2m_analysis.l2m_condition.capacity_curve import capacity_frame

    presets = [PRESETS["gpt2-tiny"], PRESETS["mamba-tiny"]]
    capacities = capacity_frame(presets, copies=4, layers=3)  # L = 64, 4 numbers per token
    spec = chart_spec(charts.l2m_chart(history_state_frame(presets, [16, 64]), REQUIRED,
                                       capacities))  # fmt: skip
    _, lines = one(spec, "capacity-lines")
    exact = REQUIRED.filter(ratio=2, length=64)["value"][0]
    top = [r["nats"] for r in lines if r["curve"] == "exact I_BP"]
    assert top == pytest.approx([4 * exact] * 2, rel=1e-9)  # MI adds over the 4 copies
    linear = sorted((r["state_dim"], r["nats"]) for r in lines if r["curve"] == "linear capacity")
    assert linear[-1][1] == pytest.approx(4 * exact, rel=1e-9)  # D = 4·32: the whole past
    assert all(a[1] <= b[1] + 1e-9 for a, b in itertools.pairwise(linear))  # grows with D
    bound = [r for r in lines if r["curve"] == "C·D + log M (C = 1)"]
    assert all(r["nats"] == pytest.approx(r["state_dim"] + 4) for r in bound)  # Eq. (11)
    _, points = one(spec, "capacity-points")
    assert {r["model"] for r in points} == {"gpt2-tiny", "mamba-tiny"}
    assert "a bound" in spec["title"]["text"]
