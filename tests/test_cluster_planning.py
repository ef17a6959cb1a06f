"""The pure pieces of the Dask paths, without a cluster: how counting groups series into
tasks, and Chan's merge of per-partition moments (the bipartite aggregation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from l2m_analysis.cluster.counting import series_groups
from l2m_analysis.estimators.moments import group_moments, merge_partition_moments


def test_series_groups_fit_memory_and_keep_every_thread_busy() -> None:
    assert series_groups(30, 10**6, 10, None, 2) == [range(0, 30)]  # read each block once
    assert series_groups(30, 10**6, 3, None, 2) == [range(0, 30)]  # a block per thread or more
    assert len(series_groups(30, 10**6, 1, None, 4)) == 4  # one block: a task per thread
    assert len(series_groups(30, 10**6, 2, None, 8)) == 4  # 2 blocks × 4 groups = 8 threads
    groups = series_groups(30, 10**6, 10, 520e6, 2)  # (520 − 120) / 40 = 10 series a task
    assert [len(g) for g in groups] == [10, 10, 10]
    assert series_groups(3, 10**6, 1, None, 16) == [range(0, 1), range(1, 2), range(2, 3)]


def test_chan_merge_is_the_moments_of_the_whole_group() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 2.0, 1001)
    frame = pd.DataFrame({"g": rng.integers(0, 3, values.size), "v": values})
    edges = np.linspace(0, len(frame), 8).astype(int)
    parts = pd.concat([group_moments(frame.iloc[a:b], ["g"], "v")
                       for a, b in zip(edges, edges[1:], strict=False)])  # fmt: skip
    merged = merge_partition_moments(parts, ["g"])
    for g, row in merged.set_index("g").iterrows():
        v = frame.loc[frame["g"] == g, "v"]
        assert row["n"] == v.size
        assert row["mean"] == pytest.approx(v.mean(), abs=1e-12)
        assert row["m2"] / (row["n"] - 1) == pytest.approx(v.var(ddof=1), rel=1e-12)
