"""Bipartite MI of a scored run on a Dask cluster: the numbers ``queries/bipartite_mi.sql``
gives, computed from per-sample sums over ranges of ``token_logprobs``.

The SQL stays the definition (``stg_bipartite_per_sample`` and ``bipartite_mi``); this is the
same arithmetic for runs too large for one machine:

1. one task per committed ``token_logprobs`` file (``dask.dataframe.from_map`` over paths):
   for every window (ℓ, L = r·ℓ) the sums Σ_{ℓ ≤ pos < L} log q and the sum of the first two Y
   log-probs (positions ℓ, ℓ+1) per sample and condition, with the rows they cover (Polars);
2. a shuffle on sample_id brings every condition of a sample together; each partition keeps
   complete windows (every position ℓ..L−1) and forms the per-sample terms of the three
   estimators (Eq. 6, Eq. 6 with the 2-gram correction of Eq. A.14, Eq. 7) — the rows of
   ``stg_bipartite_per_sample``;
3. per partition and (estimator, ℓ, r): count, mean and M2 of the terms; merged on the client
   with Chan's parallel update (``estimators.moments``): value = mean, stderr =
   sqrt(var/n + common²) with common = 4/5·se(Ĥ_G) for ``direct``, exactly as the SQL.
Rows must be unique per (sample, condition, ℓ, position): ``validate_token_logprobs_sql``
checks that first, as for the SQL path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import polars as pl

from l2m_analysis.estimators.moments import group_moments, merge_partition_moments

CONDITION_CODES = {"no_split": 0, "marginal": 1, "split": 2}
SUM_META = pd.DataFrame({
    "sample_id": np.array([], np.int64), "condition": np.array([], np.int8),
    "split_at": np.array([], np.int32), "ratio": np.array([], np.int32),
    "length": np.array([], np.int32), "y_logprob": np.array([], np.float64),
    "first_two": np.array([], np.float64), "n_rows": np.array([], np.int64),
})  # fmt: skip
TERM_META = pd.DataFrame({
    "estimator": pd.Series([], dtype=object), "length": np.array([], np.int32),
    "split_at": np.array([], np.int32), "ratio": np.array([], np.int32),
    "sample_id": np.array([], np.int64), "sample_value": np.array([], np.float64),
    "common_stderr": np.array([], np.float64),
})  # fmt: skip
GROUP = ["estimator", "length", "split_at", "ratio"]
MOMENT_META = pd.DataFrame({
    "estimator": pd.Series([], dtype=object), "length": np.array([], np.int32),
    "split_at": np.array([], np.int32), "ratio": np.array([], np.int32),
    "n": np.array([], np.int64), "mean": np.array([], np.float64),
    "m2": np.array([], np.float64),
})  # fmt: skip


def window_sums(path: str, windows: tuple[tuple[int, int], ...]) -> pd.DataFrame:
    """Step 1 for one file: per sample, condition and window (ℓ, r), Σ log q over ℓ ≤ pos < r·ℓ,
    the sum over pos < ℓ + 2 and the rows summed. no_split rows serve every window, marginal
    and split rows the windows of their own ℓ."""
    rows = pl.read_parquet(path, columns=["sample_id", "condition", "split_at", "position",
                                          "logprob"])  # fmt: skip
    win = pl.DataFrame(
        {"w_split": [s for s, _ in windows], "ratio": [r for _, r in windows]},
        schema={"w_split": pl.Int32, "ratio": pl.Int32},
    ).with_columns(length=pl.col("w_split") * pl.col("ratio"))
    whole = rows.filter(pl.col("condition") == "no_split").join(win, how="cross")
    split = (
        rows.filter(pl.col("condition") != "no_split")
        .join(win, left_on="split_at", right_on="w_split")
        .with_columns(w_split=pl.col("split_at"))
    )
    y = pl.concat([whole, split], how="diagonal_relaxed").filter(
        (pl.col("position") >= pl.col("w_split")) & (pl.col("position") < pl.col("length"))
    )
    sums = y.group_by("sample_id", "condition", "w_split", "ratio", "length").agg(
        y_logprob=pl.col("logprob").sum(),
        first_two=pl.col("logprob").filter(pl.col("position") < pl.col("w_split") + 2).sum(),
        n_rows=pl.len(),
    )
    codes = pl.col("condition").replace_strict(CONDITION_CODES, return_dtype=pl.Int8)
    out = sums.select(
        pl.col("sample_id").cast(pl.Int64), codes.alias("condition"),
        pl.col("w_split").cast(pl.Int32).alias("split_at"), pl.col("ratio").cast(pl.Int32),
        pl.col("length").cast(pl.Int32), pl.col("y_logprob").cast(pl.Float64),
        pl.col("first_two").cast(pl.Float64), pl.col("n_rows").cast(pl.Int64),
    )  # fmt: skip
    return out.to_pandas() if out.height else SUM_META.copy()


def sample_terms(
    sums: pd.DataFrame, h_2gram: float | None, h_2gram_stderr: float | None
) -> pd.DataFrame:
    """Step 2 for one partition (all rows of its samples): the per-sample terms of every
    estimator, columns ``TERM_META`` (those of ``stg_bipartite_per_sample`` but run_id)."""
    keys = ["sample_id", "split_at", "ratio", "length"]
    totals = sums.groupby([*keys, "condition"], sort=True)[["y_logprob", "first_two",
                                                            "n_rows"]].sum()  # fmt: skip
    totals = totals.reset_index()
    totals = totals[totals["n_rows"] == totals["length"] - totals["split_at"]]  # whole windows
    wide = totals.set_index([*keys, "condition"])[["y_logprob", "first_two"]].unstack("condition")
    wide.columns = [f"{v}_{c}" for v, c in wide.columns]
    wide = wide.reset_index()
    y_x = wide.get(f"y_logprob_{CONDITION_CODES['no_split']}")
    y = wide.get(f"y_logprob_{CONDITION_CODES['marginal']}")
    y12 = wide.get(f"first_two_{CONDITION_CODES['marginal']}")
    y_ox = wide.get(f"y_logprob_{CONDITION_CODES['split']}")
    parts = [TERM_META]
    if y_x is not None and y is not None:
        parts.append(_terms(wide, "direct_uncorrected", y_x - y, None))  # Eq. (6)
        if h_2gram is not None:
            corrected = y_x - (y - y12 + (y12 + 4 * (-h_2gram)) / 5)  # Eq. (6) with Eq. (A.14)
            keep = wide["length"] - wide["split_at"] >= 2
            common = None if h_2gram_stderr is None else 4 * h_2gram_stderr / 5
            parts.append(_terms(wide[keep], "direct", corrected[keep], common))
    if y_x is not None and y_ox is not None:
        parts.append(_terms(wide, "vclub", y_x - y_ox, None))  # Eq. (7)
    return pd.concat(parts, ignore_index=True).astype(TERM_META.dtypes.to_dict())


def _terms(wide: pd.DataFrame, estimator: str, value: pd.Series, common: float | None):
    keep = value.notna()
    return pd.DataFrame({
        "estimator": estimator, "length": wide["length"][keep], "split_at": wide["split_at"][keep],
        "ratio": wide["ratio"][keep], "sample_id": wide["sample_id"][keep],
        "sample_value": value[keep], "common_stderr": np.nan if common is None else common,
    })  # fmt: skip


def partition_moments(terms: pd.DataFrame) -> pd.DataFrame:
    """Step 3 for one partition: n, mean and M2 of the terms per (estimator, ℓ, r)."""
    if terms.empty:
        return MOMENT_META.copy()
    return group_moments(terms, GROUP, "sample_value").astype(MOMENT_META.dtypes.to_dict())


def bipartite_terms_on_dask(
    files: Sequence[str],
    windows: tuple[tuple[int, int], ...],
    h_2gram: float | None = None,
    h_2gram_stderr: float | None = None,
) -> dd.DataFrame:
    """Steps 1-2, lazily: the per-sample terms of a run whose ``token_logprobs`` files are
    ``files`` (one partition each), for the windows (ℓ, r)."""
    sums = dd.from_map(window_sums, [str(f) for f in files], args=[windows], meta=SUM_META,
                       label="window-sums")  # fmt: skip
    together = sums.shuffle(on="sample_id", npartitions=max(1, len(files)))
    return together.map_partitions(sample_terms, h_2gram, h_2gram_stderr, meta=TERM_META)


def bipartite_mi_on_dask(
    client: Any,
    run_id: str,
    files: Sequence[str],
    windows: tuple[tuple[int, int], ...],
    h_2gram: float | None = None,
    h_2gram_stderr: float | None = None,
) -> pl.DataFrame:
    """The rows ``queries/bipartite_mi.sql`` gives for ``run_id`` (columns MI_COLUMNS), from
    its ``token_logprobs`` files on the cluster of ``client``."""
    terms = bipartite_terms_on_dask(files, windows, h_2gram, h_2gram_stderr)
    moments = client.compute(terms.map_partitions(partition_moments, meta=MOMENT_META)).result()
    merged = merge_partition_moments(moments, GROUP)
    common = 4 * h_2gram_stderr / 5 if h_2gram_stderr is not None else None
    rows = []
    for r in merged.itertuples(index=False):
        c = common if r.estimator == "direct" else None
        var = r.m2 / (r.n - 1) if r.n > 1 else None
        rows.append({
            "run_id": run_id, "quantity": "bipartite", "estimator": r.estimator,
            "length": int(r.length), "split_at": int(r.split_at), "ratio": int(r.ratio),
            "value": float(r.mean),
            "stderr": None if var is None else float(np.sqrt(var / r.n + (c or 0.0) ** 2)),
            "stderr_common": c, "n": int(r.n),
        })  # fmt: skip
    schema = {"run_id": pl.String, "quantity": pl.String, "estimator": pl.String,
              "length": pl.Int32, "split_at": pl.Int32, "ratio": pl.Int32, "value": pl.Float64,
              "stderr": pl.Float64, "stderr_common": pl.Float64, "n": pl.Int64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema).sort("run_id", "estimator", "ratio", "split_at")
