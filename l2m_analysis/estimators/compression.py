"""A model-free cross-check: bipartite MI from a universal compressor (Appendix A.II, Eq. A.6).

    I^BP ≈ K(X) + K(Y) − K(XY),   K(·) = the length of the compressed text,

here LZMA2 (preset 9, a 1 MiB dictionary, raw stream: no container header), in nats (bits ×
ln 2). The compressor's fixed cost K("") is subtracted once. Independent halves still share
what the compressor learns of the text's statistics on X and reuses on Y, so they do not give 0.
No
compressor reaches the entropy rate of text, and its excess grows with L: the estimate
overestimates β (Eq. A.7-A.8). Estimator name ``compression_lzma``.
"""

from __future__ import annotations

import lzma
import math
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

ESTIMATOR = "compression_lzma"
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
