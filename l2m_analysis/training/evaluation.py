"""The token rows of an evaluation: one row per (sample, position), for the warehouse's queries.

An evaluation of E samples of L tokens is written as E·L rows, in blocks of whole samples
(``blocks``) so that a killed evaluation resumes block by block. Per-sample arrays are (n, L):
sample × 0-based position (BOS excluded), as ``training.tasks`` computes them.

* ``token_logprobs`` rows of the evaluated model (condition no_split): log q of each token in
  nats. A Gaussian token's log-density is summed over its C copies, as the oracle stores it:
  −C × the per-copy NLL of the model's forward (so the queries, which divide by C, give back
  that NLL exactly). Text tokens carry their ids; Gaussian ones −1.
* ``token_kl`` rows (Gaussian): the closed-form KL of each token's conditional given its
  sample's own prefix (Eq. E.35's summand), summed over the copies likewise.
* ``token_logprobs`` rows of the evaluation's reference run (Gaussian): the exact log p of the
  same tokens, so that the Monte-Carlo KL of Eq. (E.36) is a query (``position_kl.sql``).

Sample ids are indices into the evaluation's digest-named sample array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import polars as pl

ROWS_PER_FILE = 1 << 17  # token rows per committed block (whole samples; at least one)


def blocks(n_samples: int, length: int, rows_per_file: int) -> Iterator[tuple[int, int]]:
    """[start, stop) sample ranges of about ``rows_per_file`` rows each (at least one sample)."""
    step = max(1, rows_per_file // length)
    for start in range(0, n_samples, step):
        yield start, min(start + step, n_samples)


def block_key(start: int, stop: int) -> str:
    """The batch key of the rows of samples [start, stop): the same in every table."""
    return f"samples-{start:09d}-{stop:09d}"


def logprob_rows(
    first_sample: int, logprob: np.ndarray, token_ids: np.ndarray | None
) -> pl.DataFrame:
    """``token_logprobs`` rows (no_split) of samples first_sample.. from (n, L) log-probs in nats
    and (n, L) token ids (None: continuous tokens, id −1)."""
    n, length = logprob.shape
    ids = np.full((n, length), -1, np.int64) if token_ids is None else np.asarray(token_ids)
    return pl.DataFrame({
        "sample_id": np.repeat(np.arange(first_sample, first_sample + n, dtype=np.int64), length),
        "condition": "no_split", "split_at": np.zeros(n * length, np.int32),
        "position": np.tile(np.arange(length, dtype=np.int32), n),
        "token_id": ids.reshape(-1).astype(np.int64),
        "logprob": np.asarray(logprob, np.float64).reshape(-1),
    })  # fmt: skip


def kl_rows(first_sample: int, kl: np.ndarray) -> pl.DataFrame:
    """``token_kl`` rows of samples first_sample.. from (n, L) per-token KL in nats."""
    n, length = kl.shape
    return pl.DataFrame({
        "sample_id": np.repeat(np.arange(first_sample, first_sample + n, dtype=np.int64), length),
        "position": np.tile(np.arange(length, dtype=np.int32), n),
        "kl": np.asarray(kl, np.float64).reshape(-1),
    })  # fmt: skip


def model_rows(
    first_sample: int, metrics: dict[str, np.ndarray], copies: int, token_ids: np.ndarray | None
) -> dict[str, pl.DataFrame]:
    """table -> rows of the evaluated model: token_logprobs (log q = −C·nll, Eq. E.38) and,
    when ``metrics`` has the analytic ``kl`` (Eq. E.36 per copy), token_kl (C·kl)."""
    out = {"token_logprobs": logprob_rows(first_sample, -copies * metrics["nll"], token_ids)}
    if "kl" in metrics:
        out["token_kl"] = kl_rows(first_sample, copies * metrics["kl"])
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
