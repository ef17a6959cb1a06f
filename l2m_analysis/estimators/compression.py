"""A model-free cross-check: bipartite MI from a universal compressor (Appendix A.II, Eq. A.6).

    I^BP ≈ K(X) + K(Y) − K(XY),   K(·) = the length of the compressed text,

here LZMA2 (preset 9, a 1 MiB dictionary, raw stream: no container header), in nats (bits ×
ln 2). The compressor's fixed cost K("") is subtracted once. Independent halves still share
what the compressor learns of the text's statistics on X and reuses on Y, so they do not give 0.
No
compressor reaches the entropy rate of text, and its excess grows with L: the estimate
overestimates β (Eq. A.7-A.8). Estimator name ``compression_lzma``.

Its baseline, ``compression_lzma_iid``: the same estimate on the same windows with every token
replaced by a draw from the windows' own pooled tokens (one permutation of all of them: i.i.d.
up to drawing without replacement, with the text's unigram distribution), decoded the same way.
Those tokens share no information (I = 0 at every L), so the baseline is the compressor's own
redundancy at each L. It is drawn beside the text's curve and *flagged*, not subtracted: an LZ
coder's redundancy depends on the source it codes, so text − baseline is not an MI estimate
either; where the text's curve is within noise of the baseline it carries no MI signal.
"""

from __future__ import annotations

import lzma
import math
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

ESTIMATOR = "compression_lzma"
IID_ESTIMATOR = "compression_lzma_iid"
_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": 1 << 20}]  # 1 MiB >> a sample
_NATS_PER_BYTE = 8 * math.log(2)


def compressed_nats(text: str) -> float:
    """K(text): the LZMA2 length of the UTF-8 text, in nats (8·ln 2 per byte)."""
    raw = lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_RAW, filters=_FILTERS)
    return len(raw) * _NATS_PER_BYTE


def compression_estimates(
    windows: np.ndarray,
    decode: Callable[[Sequence[int]], str],
    split_ats: Sequence[int],
    ratios: Sequence[int],
) -> pl.DataFrame:
    """Eq. (A.6) per window (ℓ, L = r·ℓ <= sample length): mean over samples with its stderr.

    windows: (n, L_max) token ids; decode: ids -> text (the corpus's tokenizer).
    Columns: estimator, length, split_at, ratio, value, stderr, n (mi_estimates without keys).
    """
    empty = compressed_nats("")
    rows = []
    n, length = windows.shape
    for split_at in split_ats:
        for ratio in ratios:
            end = ratio * split_at
            if end > length:
                continue
            per_sample = np.array([
                compressed_nats(decode(w[:split_at].tolist()))
                + compressed_nats(decode(w[split_at:end].tolist()))
                - compressed_nats(decode(w[:end].tolist())) - empty
                for w in windows
            ])  # fmt: skip
            stderr = per_sample.std(ddof=1) / math.sqrt(n) if n > 1 else None
            rows.append({"estimator": ESTIMATOR, "length": end, "split_at": split_at,
                         "ratio": ratio, "value": float(per_sample.mean()), "stderr": stderr,
                         "n": n})  # fmt: skip
    return pl.DataFrame(
        rows,
        schema={
            "estimator": pl.String,
            "length": pl.Int32,
            "split_at": pl.Int32,
            "ratio": pl.Int32,
            "value": pl.Float64,
            "stderr": pl.Float64,
            "n": pl.Int64,
        },
    )


def iid_windows(windows: np.ndarray, seed: int = 0) -> np.ndarray:
    """The windows (n, L) with all their tokens permuted together (seeded): i.i.d. tokens with
    the windows' unigram distribution, up to drawing without replacement; same shape, dtype."""
    flat = np.asarray(windows).reshape(-1)
    return np.random.default_rng(seed).permutation(flat).reshape(np.shape(windows))


def compression_with_iid_baseline(
    windows: np.ndarray,
    decode: Callable[[Sequence[int]], str],
    split_ats: Sequence[int],
    ratios: Sequence[int],
    seed: int = 0,
) -> pl.DataFrame:
    """``compression_estimates`` of the windows (compression_lzma) and of ``iid_windows``
    (compression_lzma_iid, the compressor's redundancy: exact MI 0), one frame."""
    text = compression_estimates(windows, decode, split_ats, ratios)
    iid = compression_estimates(iid_windows(windows, seed), decode, split_ats, ratios)
    return pl.concat([text, iid.with_columns(estimator=pl.lit(IID_ESTIMATOR))])


def iid_baseline_flags(estimates: pl.DataFrame, z: float = 1.96) -> list[str]:
    """One line per (ℓ, L/ℓ) of a run's rows where compression_lzma is within z combined
    standard errors of compression_lzma_iid: there the lzma estimate is the compressor's
    redundancy, not MI (nats). Empty when either estimator is missing."""
    keys = ["split_at", "ratio"]
    text = estimates.filter(pl.col("estimator") == ESTIMATOR).select(*keys, "length", "value",
                                                                      "stderr")  # fmt: skip
    iid = estimates.filter(pl.col("estimator") == IID_ESTIMATOR).select(*keys, "value", "stderr")
    both = text.join(iid, on=keys, suffix="_iid").sort("ratio", "split_at")
    lines = []
    for r in both.iter_rows(named=True):
        se = math.hypot(r["stderr"] or 0.0, r["stderr_iid"] or 0.0)
        if r["value"] - r["value_iid"] <= z * se:
            lines.append(
                f"compression_lzma at L = {r['length']} (ℓ = {r['split_at']}): {r['value']:.2f} "
                f"nats, within {z}·se of the i.i.d. baseline {r['value_iid']:.2f}: redundancy, "
                "not MI"
            )
    return lines


def iid_baseline_summary(estimates: pl.DataFrame, ratio: int = 2) -> str | None:
    """One line for a report: the i.i.d. baseline's range at ``ratio`` beside the text's, and
    at how many windows the text is within noise of it (``iid_baseline_flags``); None when the
    run has no baseline rows."""
    rows = estimates.filter(pl.col("ratio") == ratio)
    iid = rows.filter(pl.col("estimator") == IID_ESTIMATOR).sort("length")
    text = rows.filter(pl.col("estimator") == ESTIMATOR).sort("length")
    if iid.is_empty() or text.is_empty():
        return None
    flagged = len(iid_baseline_flags(rows))
    return (
        f"lzma on the same windows shuffled i.i.d. (MI 0: its own redundancy) gives "
        f"{iid['value'][0]:.3g}–{iid['value'][-1]:.3g} nats over L = {iid['length'][0]}–"
        f"{iid['length'][-1]} (text: {text['value'][0]:.3g}–{text['value'][-1]:.3g}); "
        f"text within noise of it at {flagged} of {text.height} lengths"
    )
