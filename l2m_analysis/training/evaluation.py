"""Position-wise KL (Eq. E.36) and NLL (Eq. E.38), their averages (Eqs. E.37, E.39), each with
a standard error and the number of samples: pure functions over per-sample arrays.

Per-sample arrays are (n, L): sample × 0-based position (BOS excluded). The standard error of a
position is stddev / sqrt(n) over samples; the average over positions is the mean of the
per-sample averages, so its standard error accounts for positions sharing samples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl


def _stderr(values: np.ndarray, axis: int = 0) -> np.ndarray:
    n = values.shape[axis]
    if n < 2:
        return np.full(np.delete(values.shape, axis), np.nan)
    return values.std(axis=axis, ddof=1) / np.sqrt(n)


def position_table(metrics: dict[str, np.ndarray]) -> pl.DataFrame:
    """position, kl, kl_stderr, nll, nll_stderr, n from per-sample (n, L) ``kl`` (optional) and
    ``nll`` arrays. Nats per token."""
    nll = metrics["nll"]
    n, length = nll.shape
    columns = {
        "position": np.arange(length, dtype=np.int32),
        "nll": nll.mean(axis=0),
        "nll_stderr": _stderr(nll),
        "n": np.full(length, n, dtype=np.int64),
    }
    kl = metrics.get("kl")
    columns["kl"] = kl.mean(axis=0) if kl is not None else np.full(length, None)
    columns["kl_stderr"] = _stderr(kl) if kl is not None else np.full(length, None)
    frame = pl.DataFrame(columns, strict=False).with_columns(
        pl.col("kl", "kl_stderr", "nll_stderr").cast(pl.Float64).fill_nan(None)
    )
    return frame.select("position", "kl", "kl_stderr", "nll", "nll_stderr", "n")


def averages(metrics: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Eqs. (E.37), (E.39): mean over positions of each metric, with its standard error over
    samples (``<name>_stderr``); NaN-free values or None."""
    out: dict[str, float | None] = {}
    for name, values in metrics.items():
        per_sample = values.mean(axis=1)  # (n,)
        out[name] = float(per_sample.mean())
        se = float(_stderr(per_sample)) if per_sample.size > 1 else None
        out[f"{name}_stderr"] = se
    return out


def evaluate_in_batches(
    metrics_of: Callable[[np.ndarray], dict[str, np.ndarray]],
    samples: np.ndarray,
    batch_size: int,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Concatenate ``metrics_of(samples[a:b])`` over batches of ``batch_size`` samples."""
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(samples), batch_size):
        for name, values in metrics_of(samples[start : start + batch_size]).items():
            parts.setdefault(name, []).append(values)
        if on_batch is not None:
            on_batch(min(batch_size, len(samples) - start))
    return {name: np.concatenate(values) for name, values in parts.items()}
