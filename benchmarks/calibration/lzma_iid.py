"""The lzma estimate (Eq. A.6) on an i.i.d. source: the ``compression_lzma_iid`` baseline that
``bipartite_mi`` writes (``estimators.compression.compression_with_iid_baseline``: the windows'
tokens permuted together, i.i.d. with their unigram distribution up to drawing without
replacement), decoded to text by the same tokenizer. Exact I_BP = 0 at every L, so the estimate
is the compressor's own redundancy. Each replicate takes 32 contiguous windows of 256 tokens of
the embedded books (GPT-NeoX tokens of the first 400,000 characters of each; the main job's
SmolLM2 run: 32 samples × 256) and estimates ℓ = L/2 at L = 8, 32, 128, 256; the note gives the
mean estimate on the windows themselves, for scale.
"""

from __future__ import annotations

import numpy as np

from benchmarks.calibration.common import coverage_row
from l2m_analysis.corpus.gutenberg import embedded_books
from l2m_analysis.corpus.tokenizer import load_tokenizer
from l2m_analysis.estimators.compression import IID_ESTIMATOR, compression_with_iid_baseline

STUDY = "lzma_iid"
SAMPLES, LENGTH, SPLITS = 32, 256, (4, 16, 64, 128)
CHARS_PER_BOOK = 400_000
Z95 = 1.959964


def book_tokens(tokenizer) -> list[np.ndarray]:
    """NeoX token ids of the first CHARS_PER_BOOK characters of each embedded book."""
    return [tokenizer.encode(b.text[:CHARS_PER_BOOK]) for b in embedded_books()]


def text_windows(books: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """SAMPLES contiguous windows of LENGTH tokens, spread over the books: (SAMPLES, LENGTH)."""
    out = []
    for i in range(SAMPLES):
        book = books[i % len(books)]
        start = int(rng.integers(0, book.size - LENGTH))
        out.append(book[start : start + LENGTH])
    return np.stack(out)


def run(seeds: int, quick: bool) -> list[dict]:
    """One row per L: the lzma estimate on i.i.d. tokens against the exact 0, with the coverage
    of value ± 1.96·stderr; ``quick``: 3 seeds."""
    tokenizer = load_tokenizer("neox")
    decode = tokenizer.backend.decode
    books = book_tokens(tokenizer)
    iid_values: dict[int, list[tuple[float, float]]] = {}
    text_values: dict[int, list[float]] = {}
    for seed in range(min(seeds, 3) if quick else seeds):
        windows = text_windows(books, np.random.default_rng(seed))
        both = compression_with_iid_baseline(windows, decode, SPLITS, [2], seed=seed)
        for r in both.iter_rows(named=True):
            if r["estimator"] == IID_ESTIMATOR:
                iid_values.setdefault(r["length"], []).append((r["value"], r["stderr"]))
            else:
                text_values.setdefault(r["length"], []).append(r["value"])
    rows = []
    for length, pairs in sorted(iid_values.items()):
        values, stderrs = np.array(pairs).T
        covered = np.abs(values) <= Z95 * stderrs
        note = (f"redundancy, not MI; the books' own windows give "
                f"{np.mean(text_values[length]):.3g} nats at this L")  # fmt: skip
        source = f"the books' windows permuted (compression_lzma_iid), {SAMPLES} × {LENGTH}"
        rows.append(coverage_row(STUDY, IID_ESTIMATOR, source, f"I_BP(L/2; L = {length}) = 0",
                                 0.0, values, covered, note))  # fmt: skip
    return rows
