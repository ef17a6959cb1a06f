"""Count, mean and sum of squared deviations of groups of values, merged across partitions.

Chan, Golub & LeVeque's parallel update: for two partitions a and b of one group,
n = n_a + n_b, δ = mean_b − mean_a, mean = mean_a + δ·n_b/n, M2 = M2_a + M2_b + δ²·n_a·n_b/n.
The sample variance is M2/(n − 1). It is exact in any merge order (up to rounding), so
per-partition moments computed by Dask tasks combine into the moments of the whole group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MOMENT_COLUMNS = ("n", "mean", "m2")


def group_moments(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """[*by, n, mean, m2] of ``value`` per group of ``frame`` (one partition)."""
    out = frame.groupby(by, sort=True)[value].agg(["count", "mean", "var"]).reset_index()
    out["m2"] = out["var"].fillna(0.0) * (out["count"] - 1)  # var = M2 / (n − 1)
    out["n"] = out["count"].astype(np.int64)
    return out[[*by, *MOMENT_COLUMNS]]


def merge_moments(a: pd.Series | dict, b: pd.Series | dict) -> dict:
    """The moments of the union of two disjoint partitions of one group (see module doc)."""
    n = a["n"] + b["n"]
    if a["n"] == 0 or b["n"] == 0:
        return dict(a) if b["n"] == 0 else dict(b)
    delta = b["mean"] - a["mean"]
    return {
        "n": n,
        "mean": a["mean"] + delta * b["n"] / n,
        "m2": a["m2"] + b["m2"] + delta * delta * a["n"] * b["n"] / n,
    }


def merge_partition_moments(parts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Rows [*by, n, mean, m2] of many partitions -> one row per group (Chan's merge)."""
    rows = []
    for key, group in parts.groupby(by, sort=True):
        total = {"n": 0, "mean": 0.0, "m2": 0.0}
        for _, part in group.iterrows():
            total = merge_moments(total, part)
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                     **total})  # fmt: skip
    return pd.DataFrame(rows, columns=[*by, *MOMENT_COLUMNS])
