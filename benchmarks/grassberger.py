"""Grassberger entropy: a per-item Python loop vs the toolkit's count-of-counts kernel.

`python -m benchmarks.grassberger [--items N]`. Both compute Ĥ = log N − (1/N) Σ n G(n)
(Eq. 8) over the same Zipf-like counts (one count per distinct pair); the speed-up is last.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.special import digamma

from l2m_analysis.estimators.entropy import entropy_grassberger


def entropy_loop(counts: np.ndarray) -> float:
    """Baseline: one G(n) per distinct item, in Python (nats)."""
    total, acc = 0, 0.0
    for n in counts.tolist():
        g = digamma(n) + 0.5 * (-1) ** n * (digamma((n + 1) / 2) - digamma(n / 2))
        acc += n * g
        total += n
    return math.log(total) - acc / total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000, help="distinct items")
    args = parser.parse_args(argv)
    counts = np.random.default_rng(0).zipf(1.8, size=args.items)  # counts per distinct pair

    start = time.perf_counter()
    baseline = entropy_loop(counts)
    t_loop = time.perf_counter() - start
    start = time.perf_counter()
    repeats = 20
    for _ in range(repeats):
        toolkit = entropy_grassberger(counts)
    t_kit = (time.perf_counter() - start) / repeats

    print(f"items={args.items:,} N={int(counts.sum()):,} distinct counts={np.unique(counts).size}")
    print(f"loop:    {baseline:.12f} nats in {t_loop * 1e3:9.2f} ms")
    print(f"toolkit: {toolkit.value:.12f} nats in {t_kit * 1e3:9.2f} ms (± {toolkit.stderr:.2e})")
    print(f"abs difference: {abs(baseline - toolkit.value):.2e} nats")
    print(f"speed-up at {args.items:,} distinct items: {t_loop / t_kit:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
