"""The pure pieces of the Dask paths, without a cluster: how counting groups series into
tasks, what a bucket merge does with what the count tasks wrote, and Chan's merge of
per-partition moments (the bipartite aggregation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from l2m_analysis.cluster.counting import series_groups
from l2m_analysis.cluster.counting_disk import merge_bucket
from l2m_analysis.corpus.counting import count_of_counts
from l2m_analysis.corpus.streaming import write_partial_counts
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.moments import group_moments, merge_partition_moments


def test_series_groups_fit_memory_and_keep_every_thread_busy() -> None:
    assert series_groups(30, 10**6, 10, None, 2) == [range(0, 30)]  # read each block once
    assert series_groups(30, 10**6, 3, None, 2) == [range(0, 30)]  # a block per thread or more
    assert len(series_groups(30, 10**6, 1, None, 4)) == 4  # one block: a task per thread
    assert len(series_groups(30, 10**6, 2, None, 8)) == 4  # 2 blocks × 4 groups = 8 threads
    groups = series_groups(30, 10**6, 10, 520e6, 2)  # (520 − 120) / 40 = 10 series a task
    assert [len(g) for g in groups] == [10, 10, 10]
    assert series_groups(3, 10**6, 1, None, 16) == [range(0, 1), range(1, 2), range(2, 3)]


def test_a_bucket_merge_adds_every_block_of_a_series_and_keeps_series_apart(tmp_path) -> None:
    keys = [np.array([3, 5, 7]), np.array([5, 7, 9]), np.array([1, 2])]  # blocks 0, 1 of
    written = []  # series 0, block 0 of series 1
    for task, (series, block) in enumerate([(0, 0), (0, 1), (1, 0)]):
        path = tmp_path / f"s{series}" / f"block-{block:06d}.arrow"
        write_partial_counts(path, keys[task], np.ones(keys[task].size, np.int64), 1)
        written.append([(series, str(path))])
    merged = merge_bucket(2, 0, "numpy", *written)
    assert merged[0].equals(count_of_counts(np.array([3, 5, 7, 5, 7, 9])))  # 5, 7 twice
    assert merged[1].equals(count_of_counts(np.array([1, 2])))


def test_a_merge_that_cannot_see_a_spill_file_says_the_folder_is_not_shared(tmp_path) -> None:
    missing = [(0, str(tmp_path / "elsewhere" / "block-000000.arrow"))]
    with pytest.raises(InputError, match="not shared") as err:
        merge_bucket(1, 0, "numpy", missing)
    assert "--spill-dir" in err.value.fix


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
