"""Exact bipartite MI of the Gaussian families: structured O(L) recursion vs dense covariance.

For L = 4^l the dense baseline builds Σ (L, L) and takes Cholesky log-determinants of Σ, Σ_XX and
Σ_YY for every ratio; the toolkit (``gaussian.structured``) computes all prefix log-determinants
by the layer recursion. Both give I_BP at ratios 2, 3, 4; the benchmark checks that they agree
(max relative difference) and reports wall time and peak traced memory (tracemalloc: numpy
arrays, not LAPACK workspace). The dense method runs up to --dense-layers (Σ is 8·L² bytes: 128 MiB
at l = 6, 2 GiB at l = 7, 32 GiB at l = 8), the structured one up to --layers.
The speed-up at the largest L both methods ran is printed last.

  python -m benchmarks.gaussian_exact
  python -m benchmarks.gaussian_exact --dense-layers 7 --family log
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from functools import partial

from rich.console import Console
from rich.table import Table

from l2m_analysis.gaussian.curves import split_for_ratio
from l2m_analysis.gaussian.exact import bipartite_mi_from_covariance, covariance_dense
from l2m_analysis.gaussian.structured import prefix_logdets

RATIOS = (2, 3, 4)


def dense_method(family: str, layers: int) -> list[float]:
    sigma = covariance_dense(family, layers)
    length = sigma.shape[0]
    return [bipartite_mi_from_covariance(sigma, split_for_ratio(length, r)) for r in RATIOS]


def structured_method(family: str, layers: int) -> list[float]:
    logdets = prefix_logdets(family, layers)
    return [logdets.bipartite_mi(split_for_ratio(logdets.length, r)) for r in RATIOS]


def measure(fn: Callable[[], list[float]], repeats: int) -> tuple[list[float], float, float]:
    """(result, best wall time in s, peak traced memory in MiB)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, best, peak


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gaussian_exact", description=__doc__
    )
    parser.add_argument("--family", choices=["subvolume", "log"], default="subvolume")
    parser.add_argument("--layers", type=int, default=8, help="largest l for structured")
    parser.add_argument("--dense-layers", type=int, default=6, help="largest l for dense")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best is kept)")
    args = parser.parse_args(argv)
    console = Console(width=140)
    table = Table(title=f"exact I_BP at L/ℓ = 2, 3, 4 — {args.family} family")
    for col in ["l", "L", "dense s", "dense MiB", "structured s", "structured MiB", "speed-up",
                "max rel. diff", "I_BP(L/2) nats"]:  # fmt: skip
        table.add_column(col, justify="right")
    last_shared = None
    for layers in range(1, args.layers + 1):
        repeats = args.repeats if layers <= 6 else 1
        fast, t_fast, m_fast = measure(partial(structured_method, args.family, layers), repeats)
        row = [str(layers), str(4**layers)]
        if layers <= args.dense_layers:
            slow, t_slow, m_slow = measure(partial(dense_method, args.family, layers), repeats)
            diff = max(abs(a - b) / abs(a) for a, b in zip(slow, fast, strict=True))
            row += [f"{t_slow:.4f}", f"{m_slow:.1f}", f"{t_fast:.4f}", f"{m_fast:.1f}",
                    f"{t_slow / t_fast:.1f}x", f"{diff:.1e}", f"{fast[0]:.4f}"]  # fmt: skip
            last_shared = (4**layers, t_slow / t_fast, m_slow / m_fast)
        else:
            row += ["—", f"{8 * 16**layers / 2**20:.0f} (Σ alone)", f"{t_fast:.4f}",
                    f"{m_fast:.1f}", "", "", f"{fast[0]:.4f}"]  # fmt: skip
        table.add_row(*row)
    console.print(table)
    if last_shared is not None:
        length, speedup, memory = last_shared
        print(f"memory ratio at L={length}: {memory:.1f}x less traced memory")
        print(f"speed-up at L={length}: {speedup:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
